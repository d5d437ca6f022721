# plots/bode.gp — Bode plots of every initialisation against HiPPO-LegS.
#   gnuplot -e "dir='out/figures'" plots/bode.gp   → dir/bode.png
#   (data: dir/bode-curves.tsv: index 0 HiPPO-LegS, 1..7 the inits in the order of `names`)
if (!exists("dir")) dir = "."
f = dir."/bode-curves.tsv"
stats dir."/bode.tsv" using 2 nooutput
N = int(STATS_min)
stats f index 0 using 2 nooutput
wlo = STATS_min
whi = STATS_max
set terminal pngcairo size 1500,650 enhanced font "DejaVu Sans,12"
set output dir."/bode.png"
names = "s4-dplr s4d-legs s4d-lin s4d-inv s4d-real s5-legs ptd"
set multiplot layout 1,2 title sprintf("Bode plots of the initialisations (N = %d) against HiPPO-LegS   (B = LegS B, C = ones; s4d-lin/inv/real: B = C = 1)", N) font ",14"
set logscale x
set format x "10^{%T}"
set xlabel "frequency ω (rad per unit time)"
set xrange [wlo:whi]
set grid
set key bottom left box opaque font ",10"
set linetype 1 lc rgb "#1b9e77" dt 1
set linetype 2 lc rgb "#d95f02" dt 1
set linetype 3 lc rgb "#7570b3" dt 1
set linetype 4 lc rgb "#e7298a" dt 1
set linetype 5 lc rgb "#66a61e" dt 1
set linetype 6 lc rgb "#e6ab02" dt 4
set linetype 7 lc rgb "#a6761d" dt 2

set title "magnitude"
set logscale y
set format y "10^{%T}"
set ylabel "|G(iω)|"
plot f index 0 using 2:3 with lines lw 5 lc rgb "#bbbbbb" title "HiPPO-LegS (dense, exact target)", \
     for [m=1:7] f index m using 2:3 with lines lw 1.5 lt m title word(names, m).(m == 6 ? " (1 block: = s4d-legs)" : "")

set title "phase (unwrapped)"
unset logscale y
set format y "%g"
set ylabel "arg G(iω)  (degrees)"
set key bottom left
plot f index 0 using 2:4 with lines lw 5 lc rgb "#bbbbbb" title "HiPPO-LegS", \
     for [m=1:7] f index m using 2:4 with lines lw 1.5 lt m title word(names, m).(m == 6 ? " (1 block: = s4d-legs)" : "")
unset multiplot
