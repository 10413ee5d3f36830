# Draw with: gnuplot increase_batch_size.gp   (writes increase_batch_size.png and increase_batch_size.svg here)
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
      set terminal pngcairo size 1500,820 font "sans,10" noenhanced
    } else {
      set terminal png size 1500,820 noenhanced
    }
    set output 'increase_batch_size.png'
  } else {
    set terminal svg size 1500,820 font "sans,10" noenhanced background rgb 'white'
    set output 'increase_batch_size.svg'
  }
  set multiplot layout 2,3 title "Don't decay the learning rate, increase the batch size (Smith et al. 2018); 3 seeds, one line each"
  set grid
  unset key
  set xlabel 'epoch'
  set xrange [0:12]
  set logscale y
  set title 'learning rate'
  set ylabel 'learning rate'
  set yrange [0.0008:0.08]
  set key bottom left font ',9' box opaque
  plot 'increase_batch_size.dat' index 0 using 1:4 with fsteps lw 2 lc rgb '#d62728' title 'decay lr: B=64, lr 0.04 -> 0.008 -> 0.0016', \
       'increase_batch_size.dat' index 3 using 1:4 with fsteps lw 2 lc rgb '#1f77b4' title 'grow batch: lr=0.04, B 64 -> 320 -> 1600'
  unset key
  set title 'batch size'
  set ylabel 'batch size'
  set yrange [32:3200]
  plot 'increase_batch_size.dat' index 0 using 1:7 with fsteps lw 2 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 3 using 1:7 with fsteps lw 2 lc rgb '#1f77b4' notitle
  set title 'training loss against epochs'
  set ylabel 'training loss'
  set autoscale y
  plot 'increase_batch_size.dat' index 0 using 1:2 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 1 using 1:2 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 2 using 1:2 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 3 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 4 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 5 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' notitle
  unset logscale y
  set yrange [0.8:0.9]
  set title 'validation accuracy against epochs'
  set ylabel 'accuracy'
  plot 'increase_batch_size.dat' index 0 using 1:3 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 1 using 1:3 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 2 using 1:3 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 3 using 1:3 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 4 using 1:3 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 5 using 1:3 with lines lw 1.5 lc rgb '#1f77b4' notitle
  set title 'validation accuracy against optimizer steps'
  set xlabel 'optimizer steps'
  set autoscale x
  plot 'increase_batch_size.dat' index 0 using 5:3 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 1 using 5:3 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 2 using 5:3 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 3 using 5:3 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 4 using 5:3 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 5 using 5:3 with lines lw 1.5 lc rgb '#1f77b4' notitle
  set title 'training loss against optimizer steps'
  set ylabel 'training loss'
  set logscale y
  set autoscale y
  plot 'increase_batch_size.dat' index 0 using 5:2 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 1 using 5:2 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 2 using 5:2 with lines lw 1.5 lc rgb '#d62728' notitle, \
       'increase_batch_size.dat' index 3 using 5:2 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 4 using 5:2 with lines lw 1.5 lc rgb '#1f77b4' notitle, \
       'increase_batch_size.dat' index 5 using 5:2 with lines lw 1.5 lc rgb '#1f77b4' notitle
  unset multiplot
  set output
}
