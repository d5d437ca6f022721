# plots/pseudospectra.gp — ε-pseudospectra of HiPPO-LegS, S4D-LegS and PTD side by side on one box:
# contours of σ_min(zI − A) = 10^-1 … 10^-12 with the eigenvalues on top.
#   gnuplot -e "dir='out/figures'" plots/pseudospectra.gp → dir/pseudospectra.png
#   (data: dir/pseudospectra.tsv and dir/pseudospectra-K.grid.tsv from `ssmkit experiment pseudospectra`)
if (!exists("dir")) dir = "."
f = dir."/pseudospectra.tsv"
# contour lines into tables first (gnuplot contours on splot)
set contour base
set cntrparam levels discrete -12,-11,-10,-9,-8,-7,-6,-5,-4,-3,-2,-1
unset surface
set view map
do for [k=0:2] {
    set table dir.sprintf("/pseudospectra-contours-%d.dat", k)
    splot dir.sprintf("/pseudospectra-%d.grid.tsv", k) using 1:2:(log10($3 > 1e-300 ? $3 : 1e-300)) with lines
    unset table
}
reset
stats f index 0 every ::0::0 using 9 nooutput
x0 = STATS_min
stats f index 0 every ::0::0 using 10 nooutput
x1 = STATS_min
stats f index 0 every ::0::0 using 11 nooutput
y0 = STATS_min
stats f index 0 every ::0::0 using 12 nooutput
y1 = STATS_min
stats f index 0 every ::0::0 using 2 nooutput
N = STATS_min
array B[3]
do for [k=0:2] {
    stats f index 0 every ::k::k using 6 nooutput
    B[k + 1] = STATS_min
}
stats f index 0 every ::2::2 using 7 nooutput
kptd = STATS_min
stats f index 0 every ::0::0 using 14 nooutput
lklegs = STATS_min
stats f index 0 every ::2::2 using 15 nooutput
eptd = STATS_min
set terminal pngcairo size 1860,640 enhanced font "DejaVu Sans,12"
set output dir."/pseudospectra.png"
set multiplot layout 1,3 title sprintf("ε-pseudospectra Λ_ε(A) = \\{z : σ_{min}(zI − A) ≤ ε\\} at N = %d: colour = log_{10} σ_{min}(zI − A), black lines = boundaries for ε = 10^{-1}, …, 10^{-12}, white dots = eigenvalues", N) font ",13"
set view map
set pm3d map interpolate 1,1
set palette defined (-12 "#08306b", -9 "#2171b5", -6 "#41ab5d", -3 "#fe9929", 0 "#d7301f", 3 "#fff5eb")
set cbrange [-12:3]
set cbtics 3
set cblabel "log_{10} σ_{min}(zI − A)   (below −12: darkest)"
set xlabel "Re z"
set ylabel "Im z"
unset key
set xrange [x0:x1]
set yrange [y0:y1]
ke = floor(lklegs)
km = 10**(lklegs - ke)
if (km >= 9.995) { km = km / 10; ke = ke + 1 }
set title sprintf("HiPPO-LegS  (κ(V) = %.2f·10^{%d}, β = %.3g)\nevery eigenvalue lies deep inside Λ_ε for ε = 10^{-12}", km, int(ke), B[1])
splot dir."/pseudospectra-0.grid.tsv" using 1:2:(log10($3 > 1e-300 ? $3 : 1e-300)) with pm3d, \
      dir."/pseudospectra-contours-0.dat" using 1:2:(0) with lines lw 1 lc rgb "black", \
      f index 4 using 1:2:(0) with points pt 7 ps 0.6 lc rgb "white"
set title sprintf("S4D-LegS  (normal: κ(V) = 1, β = %.3g)\nΛ_ε = discs of radius ε around the eigenvalues", B[2])
splot dir."/pseudospectra-1.grid.tsv" using 1:2:(log10($3 > 1e-300 ? $3 : 1e-300)) with pm3d, \
      dir."/pseudospectra-contours-1.dat" using 1:2:(0) with lines lw 1 lc rgb "black", \
      f index 5 using 1:2:(0) with points pt 7 ps 0.6 lc rgb "white"
set title sprintf("PTD: A + E, ‖E‖ = %g ‖A‖  (κ(Ṽ) = %.3g, β = %.3g)\nΛ_ε within κ(Ṽ)·ε of the eigenvalues", eptd, kptd, B[3])
splot dir."/pseudospectra-2.grid.tsv" using 1:2:(log10($3 > 1e-300 ? $3 : 1e-300)) with pm3d, \
      dir."/pseudospectra-contours-2.dat" using 1:2:(0) with lines lw 1 lc rgb "black", \
      f index 6 using 1:2:(0) with points pt 7 ps 0.6 lc rgb "white"
unset multiplot
