# bench/quality/median.awk - medians per grid size of the rows the quality
# scripts collect ("K value value ..."), for one K: awk -v k=K -v fmt=FORMAT
# -f median.awk ROWS. FORMAT is a printf format taking K, K, the number of
# rows, then the median of each value column in order.
$1 == k {
    n++
    for (c = 2; c <= NF; c++)
        v[c, n] = $c
    cols = NF
}
function med(c,   i, j, t, a) {
    for (i = 1; i <= n; i++)
        a[i] = v[c, i] + 0
    for (i = 1; i <= n; i++)
        for (j = i + 1; j <= n; j++)
            if (a[j] < a[i]) {
                t = a[i]; a[i] = a[j]; a[j] = t
            }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
    if (!n)
        exit
    if (cols == 3)
        printf fmt, k, k, n, med(2), med(3)
    else
        printf fmt, k, k, n, med(2), med(3), med(4), med(5)
}
