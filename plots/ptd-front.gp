# plots/ptd-front.gp — PTD of HiPPO-LegS: eigenvector conditioning against transfer fidelity.
#   gnuplot -e "dir='out/figures'" plots/ptd-front.gp   → dir/ptd-front.png   (data: dir/ptd-front.tsv)
# One long table (column 1 series); blocks (gnuplot index): one per (N, tf_weight) sweep in the order
# N = 16, 32, 64[, 128] × weights 0, 16, 64, 256; then `init ptd` at the official budgets; then the
# official perturbations.  Columns: 2 N, 3 tf_weight, 4 eps, 5 |E|/|A|, 6 kappa_V, 7 ones, 8 randC.
if (!exists("dir")) dir = "."
f = dir."/ptd-front.tsv"
set terminal pngcairo size 1600,700 enhanced font "DejaVu Sans,12"
set output dir."/ptd-front.png"
stats f using 2 nooutput
nsets = STATS_blocks
nsweeps = nsets - 2
stats f index 0:nsweeps-1 using 4 nooutput
set multiplot layout 1,2 title sprintf("Perturb-then-diagonalise, HiPPO-LegS: κ_2(Ṽ) against the transfer error (budgets ε = %g … %g; each curve one warm-started sweep)", STATS_max, STATS_min) font ",13"
set logscale xy
set format x "10^{%T}"
set format y "%g"
set xlabel "κ_2(Ṽ)  (unit-norm columns)"
set grid
set key inside top right font ",9" spacing 1.0 maxrows 10 width -12 box opaque
# colour by N, point type by weight
col(i) = word("#1f77b4 #d62728 #2ca02c #9467bd", int(i / 4) + 1)
pt(i) = 4 + 2 * (i % 4)
nm(i) = sprintf("N=%d τ=%s", 16 * 2 ** int(i / 4), word("0 16 64 256", (i % 4) + 1))
do for [panel = 1:2] {
  c = panel == 1 ? 7 : 8
  set title panel == 1 ? "C = ones: sup|G − G_{LegS}| / sup|G_{LegS}|" : "random C: median over 200 Gaussian C of the same ratio"
  set ylabel panel == 1 ? "relative transfer error (ones)" : "relative transfer error (randC)"
  if (panel == 1) { unset key; set yrange [0.001:1] } else { set key; set yrange [0.01:3000] }
  plot for [i = 0:nsweeps - 1] f index i using 6:c with linespoints lw (i % 4 == 2 ? 2.5 : 1) pt pt(i) ps 0.9 lc rgb col(i) title nm(i), \
       f index nsweeps using 6:c with points pt 7 ps 2.2 lc rgb "black" title "init ptd (τ = 64), official budget", \
       f index nsweeps + 1 using 6:c:(sprintf("N=%d", $2)) with labels point pt 3 ps 2.4 lc rgb "orange" offset char 1.6,0.6 notitle, f index nsweeps + 1 using 6:c with points pt 3 ps 2.4 lc rgb "orange" title "official perturbation"
}
unset multiplot
