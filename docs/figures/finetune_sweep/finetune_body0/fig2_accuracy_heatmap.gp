# Figure 2: final_val_accuracy over learning rate x batch size
# Data: fig2_accuracy_heatmap.dat. Draw: gnuplot fig2_accuracy_heatmap.gp (writes fig2_accuracy_heatmap.png and fig2_accuracy_heatmap.svg here).
# Written by xtrain's write_figures(); edit freely.
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
      set terminal pngcairo size 1570,370 font "sans,10" noenhanced
    } else {
      set terminal png size 1570,370 noenhanced
    }
    set output 'fig2_accuracy_heatmap.png'
  } else {
    set terminal svg size 1570,370 font "sans,10" noenhanced background rgb 'white'
    set output 'fig2_accuracy_heatmap.svg'
  }
  set multiplot layout 1,2 title 'final_val_accuracy, median over seeds that did not diverge; x: a seed diverged, o: a seed stalled near chance'
  set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21918c', 0.75 '#5ec962', 1 '#fde725')
  set cbrange [0.1885:0.833]
  set xrange [-0.5:6.5]
  set yrange [-0.5:2.5]
  set xtics ('0.0003' 0, '0.001' 1, '0.003' 2, '0.01' 3, '0.03' 4, '0.1' 5, '0.3' 6) rotate by 45 right
  set ytics ('16' 0, '64' 1, '256' 2)
  set xlabel 'learning rate'
  set ylabel 'batch size'
  set tics scale 0
  unset key
  set title 'sgd'
  plot 'fig2_accuracy_heatmap.dat' index 0 using 1:2:(0.5):(0.5):5 with boxxyerror fs solid 1.0 noborder fc palette, \
       'fig2_accuracy_heatmap.dat' index 0 using 1:2:(sprintf('%.3g', $5)):8 with labels tc rgb variable font ',9', \
       'fig2_accuracy_heatmap.dat' index 2 using ($1 - 0.32):($2 + 0.27) with points pt 6 ps 1.1 lw 2 lc rgb '#7f7f7f'
  set title 'adam'
  plot 'fig2_accuracy_heatmap.dat' index 3 using 1:2:(0.5):(0.5):5 with boxxyerror fs solid 1.0 noborder fc palette, \
       'fig2_accuracy_heatmap.dat' index 3 using 1:2:(sprintf('%.3g', $5)):8 with labels tc rgb variable font ',9', \
       'fig2_accuracy_heatmap.dat' index 5 using ($1 - 0.32):($2 + 0.27) with points pt 6 ps 1.1 lw 2 lc rgb '#7f7f7f'
  unset multiplot
  set output
}
