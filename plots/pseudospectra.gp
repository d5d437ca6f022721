# plots/pseudospectra.gp — ε-pseudospectra of HiPPO-LegS, S4D-LegS and PTD: each on its own EigTool box
# (top row: every mode inside), S4D-LegS and PTD again on HiPPO-LegS's box (bottom row: a zoom near the
# imaginary axis, where their ε-discs are visible).  Colour log10 σ_min(zI − A); black lines: the resolved
# contours σ_min = 10^k that the experiment wrote (levels below its rounding floor or unresolved are absent).
#   gnuplot -e "dir='out/figures'" plots/pseudospectra.gp → dir/pseudospectra.png
#   (data: dir/pseudospectra*.tsv from `ssmkit experiment pseudospectra`)
if (!exists("dir")) dir = "."
f = dir."/pseudospectra.tsv"
fp = dir."/pseudospectra-panels.tsv"
fg = dir."/pseudospectra-grid.tsv"
fe = dir."/pseudospectra-eigenvalues.tsv"
fc = dir."/pseudospectra-contours.tsv"
# every number in a title is read from the tables: row r of a table, column c (the names line is point
# 0 of the first block for `every`, so row r is ::r+1::r+1; "nan", not applicable, becomes NaN)
array SYS[3 * 10]
array PAN[5 * 17]
do for [r = 0:2] { do for [c = 2:10] {
    stats f every ::r+1::r+1 using (strcol(c) eq "nan" ? 1e300 : column(c)) nooutput
    SYS[r * 10 + c - 1] = STATS_min >= 1e300 ? NaN : STATS_min
} }
do for [r = 0:4] { do for [c = 2:17] {
    stats fp every ::r+1::r+1 using (strcol(c) eq "nan" ? 1e300 : column(c)) nooutput
    PAN[r * 17 + c - 1] = STATS_min >= 1e300 ? NaN : STATS_min
} }
sys(r, c) = SYS[r * 10 + c - 1]        # c: 2 N 3 norm_A 4 abscissa_eps2 5 abscissa_eps6 6 beta 7 kappa_V 8 log10_kappa_V 9 eps 10 max_abs_im
pan(r, c) = PAN[r * 17 + c - 1]        # c: 3..6 box, 7 grid, 10 eig_inside, 11 eig_count, 12 floor, 13 lo, 14 hi, 15 worst, 16 accept
N = int(sys(0, 2))
# κ of LegS as m·10^e from its log10 (it can exceed a double's range at large N)
ke = floor(sys(0, 8))
km = 10**(sys(0, 8) - ke)
if (km >= 9.995) { km = km / 10; ke = ke + 1 }
lo = pan(0, 13); hi = pan(0, 14)
do for [k = 1:4] { lo = pan(k, 13) < lo ? pan(k, 13) : lo; hi = pan(k, 14) > hi ? pan(k, 14) : hi }
worst = 0
do for [k = 0:4] { worst = pan(k, 15) > worst ? pan(k, 15) : worst }
fl = pan(0, 12)
do for [k = 1:4] { fl = pan(k, 12) > fl ? pan(k, 12) : fl }

set terminal pngcairo size 1860,1300 enhanced font "DejaVu Sans,12"
set output dir."/pseudospectra.png"
set multiplot layout 2,3 title sprintf("ε-pseudospectra Λ_ε(A) = \\{z : σ_{min}(zI − A) ≤ ε\\} at N = %d: colour log_{10} σ_{min}(zI − A), white dots eigenvalues,\nblack lines the boundaries for ε = 10^{k}, k = %d … %d where resolved (σ_{min} within a factor %.3f of the interpolation at every checked point)", N, int(lo), int(hi), worst) font ",14"
set view map
set pm3d map interpolate 1,1
set palette defined (-12 "#08306b", -9 "#2171b5", -6 "#41ab5d", -3 "#fe9929", 0 "#d7301f", 4 "#fff5eb")
set cbrange [-12:4]
set cbtics 2
set cblabel "log_{10} σ_{min}(zI − A)"
set xlabel "Re z"
set ylabel "Im z"
unset key
set size ratio -1
lg(s) = log10(s > 1e-300 ? s : 1e-300)
do for [k = 0:4] {
    s = k < 3 ? k : k - 2
    set xrange [pan(k, 3):pan(k, 4)]
    set yrange [pan(k, 5):pan(k, 6)]
    if (k == 0) {
        set title sprintf("HiPPO-LegS: κ(V) = %.2f·10^{%d}, β = %.3g\nEigTool's box: %d of %d modes inside", km, int(ke), sys(0, 6), int(pan(k, 10)), int(pan(k, 11)))
    }
    if (k == 1) {
        set title sprintf("S4D-LegS (normal): κ(V) = %.3g, β = %.3g\nEigTool's box: %d of %d modes inside (|Im λ| ≤ %.0f)", sys(1, 7), sys(1, 6), int(pan(k, 10)), int(pan(k, 11)), sys(1, 10))
    }
    if (k == 2) {
        set title sprintf("PTD, A + E with ‖E‖_2 = %g ‖A‖_2: κ(Ṽ) = %.3g, β = %.3g\nEigTool's box: %d of %d modes inside (|Im λ| ≤ %.0f)", sys(2, 9), sys(2, 7), sys(2, 6), int(pan(k, 10)), int(pan(k, 11)), sys(2, 10))
    }
    if (k == 3) {
        set multiplot next   # the bottom-left slot holds the notes (drawn with the last panel)
        set title sprintf("S4D-LegS on HiPPO-LegS's box (zoom): %d of %d modes inside\nΛ_ε = discs of radius ε around the eigenvalues", int(pan(k, 10)), int(pan(k, 11)))
    }
    if (k == 4) {
        set title sprintf("PTD on HiPPO-LegS's box (zoom): %d of %d modes inside\nΛ_ε within discs of radius κ(Ṽ)·ε = %.3g·ε (Bauer–Fike)", int(pan(k, 10)), int(pan(k, 11)), sys(2, 7))
        set label 1 sprintf("Top row: each system on its own EigTool box\n(the spectrum's bounding box padded by half its\nlarger side), so that no mode is cut off.\nBottom row: the same on HiPPO-LegS's box.\n\nContours ε = 10^{k} are drawn where resolved:\nthe grid (%d×%d per panel) is refined (quadtree)\nuntil σ_{min} at every edge midpoint and centre of\nthe cells a contour crosses is within %.3g%% of the\ninterpolation, and every eigenvalue's component is\nfound; largest misfit kept: a factor %.4f.\nLevels below 1000 u‖A‖_2 (here at most %.2g) are at\nthe rounding level of σ_{min}: not drawn.", int(pan(0, 7)), int(pan(0, 7)), 100 * (pan(0, 16) - 1), worst, fl) at screen 0.02, screen 0.42 left font ",12"
    }
    splot fg index k using 2:3:(lg($4)) with pm3d, \
          fc index k using 3:4:(0):($5 - $3):($6 - $4):(0) with vectors nohead lw 1 lc rgb "black", \
          fe index s using 2:3:(0) with points pt 7 ps 0.5 lc rgb "white"
}
unset label 1
unset multiplot
