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
plot dir."/kappa-growth.tsv" using 1:(10**$2) with linespoints lw 2 pt 7 title "multiprecision (256 bits, digits vouched for)", \
     dir."/kappa-growth.tsv" using 1:(10**$4) with linespoints lw 2 pt 5 title "LAPACK in double (saturates)", \
     (r**x) * 0.03 with lines dt 2 lc rgb "gray" title "0.03 (3+2√2)^N"
