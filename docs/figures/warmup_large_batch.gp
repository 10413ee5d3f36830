# Draw with: gnuplot warmup_large_batch.gp   (writes warmup_large_batch.png and warmup_large_batch.svg here)
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
      set terminal pngcairo size 1350,430 font "sans,10" noenhanced
    } else {
      set terminal png size 1350,430 noenhanced
    }
    set output 'warmup_large_batch.png'
  } else {
    set terminal svg size 1350,430 font "sans,10" noenhanced background rgb 'white'
    set output 'warmup_large_batch.svg'
  }
  set multiplot layout 1,3 title 'Large batch with the linearly scaled rate: no warm-up vs. gradual warm-up (Goyal et al. 2017); 5 seeds, one line each'
  set grid
  set xlabel 'epoch'
  set xrange [0:10]
  unset key
  set title 'learning rate (per step)'
  set ylabel 'learning rate'
  set logscale y
  set autoscale y
  plot 'warmup_large_batch.dat' index 0 using 1:4 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 1 using 1:4 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 2 using 1:4 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 3 using 1:4 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 4 using 1:4 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 5 using 1:4 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 6 using 1:4 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 7 using 1:4 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 8 using 1:4 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 9 using 1:4 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 10 using 1:4 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 11 using 1:4 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 12 using 1:4 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 13 using 1:4 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 14 using 1:4 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 15 using 1:4 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 16 using 1:4 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 17 using 1:4 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 18 using 1:4 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 19 using 1:4 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle
  set title 'training loss (x: stopped by the divergence guard)'
  set ylabel 'training loss'
  set yrange [0.1:4]
  plot 'warmup_large_batch.dat' index 0 using 1:2 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 1 using 1:2 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 2 using 1:2 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 3 using 1:2 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 4 using 1:2 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 5 using 1:2 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 6 using 1:2 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 7 using 1:2 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 8 using 1:2 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 9 using 1:2 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 10 using 1:2 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 11 using 1:2 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 12 using 1:2 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 13 using 1:2 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 14 using 1:2 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 15 using 1:2 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 16 using 1:2 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 17 using 1:2 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 18 using 1:2 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 19 using 1:2 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       '+' using (0.47104):(3.28097) every ::0::0 with points pt 2 ps 2 lw 2 lc rgb '#d62728' notitle, \
       '+' using (1.39936):(2.42131) every ::0::0 with points pt 2 ps 2 lw 2 lc rgb '#d62728' notitle
  unset logscale y
  set yrange [0.05:0.95]
  set title 'validation accuracy'
  set ylabel 'accuracy'
  set key at graph 0.97, graph 0.62 right font ',9' box opaque
  plot 'warmup_large_batch.dat' index 0 using 1:3 with lines lw 1.5 dt 1 lc rgb '#000000' title 'B=32, lr=0.01', \
       'warmup_large_batch.dat' index 1 using 1:3 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 2 using 1:3 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 3 using 1:3 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 4 using 1:3 with lines lw 1.5 dt 1 lc rgb '#000000' notitle, \
       'warmup_large_batch.dat' index 5 using 1:3 with lines lw 1.5 dt 2 lc rgb '#999999' title 'B=512, lr=0.01 (not scaled)', \
       'warmup_large_batch.dat' index 6 using 1:3 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 7 using 1:3 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 8 using 1:3 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 9 using 1:3 with lines lw 1.5 dt 2 lc rgb '#999999' notitle, \
       'warmup_large_batch.dat' index 10 using 1:3 with lines lw 1.5 dt 1 lc rgb '#d62728' title 'B=512, lr=0.16, no warm-up', \
       'warmup_large_batch.dat' index 11 using 1:3 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 12 using 1:3 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 13 using 1:3 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 14 using 1:3 with lines lw 1.5 dt 1 lc rgb '#d62728' notitle, \
       'warmup_large_batch.dat' index 15 using 1:3 with lines lw 1.5 dt 1 lc rgb '#1f77b4' title 'B=512, lr=0.16, warm-up 2 epochs', \
       'warmup_large_batch.dat' index 16 using 1:3 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 17 using 1:3 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 18 using 1:3 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle, \
       'warmup_large_batch.dat' index 19 using 1:3 with lines lw 1.5 dt 1 lc rgb '#1f77b4' notitle
  unset multiplot
  set output
}
