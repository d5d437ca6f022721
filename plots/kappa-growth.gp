# plots/kappa-growth.gp — κ₂(V) of HiPPO-LegS vs N, multiprecision vs double.
#   gnuplot -e "dir='out/demo'" plots/kappa-growth.gp   → dir/kappa-growth.png
if (!exists("dir")) dir = "."
set terminal pngcairo size 900,600 enhanced font "DejaVu Sans,12"
set output dir."/kappa-growth.png"
set title "Eigenvector conditioning of HiPPO-LegS (unit-norm columns)"
set xlabel "state size N"
set ylabel "κ_2(V)"
set logscale y
set format y "10^{%T}"
set key top left
set grid
r = 3 + 2*sqrt(2)
# the guide line's constant from the data: the mean of log10 c = log10 kappa - N log10(3 + 2 sqrt 2) over N >= 8
stats dir."/kappa-growth.tsv" using ($1 >= 8 ? $5 : 1/0) nooutput
c = 10**STATS_mean
plot dir."/kappa-growth.tsv" using 1:(10**$2) with linespoints lw 2 pt 7 title "multiprecision (256 bits, digits vouched for)", \
     dir."/kappa-growth.tsv" using 1:(10**$4) with linespoints lw 2 pt 5 title "LAPACK in double (saturates)", \
     (r**x) * c with lines dt 2 lc rgb "gray" title sprintf("%.2g (3+2√2)^N (mean constant, N ≥ 8)", c)
