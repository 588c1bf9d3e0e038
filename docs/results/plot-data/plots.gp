set grid
set yrange [0:1]
set terminal pngcairo size 1200,1208 noenhanced
set key outside below center vertical font ",9"
set output "docs/results/listops-accuracy-by-step.png"
set title "listops: validation accuracy by optimizer step"
set xlabel "optimizer step"; set ylabel "validation accuracy"
unset logscale x
plot "docs/results/plot-data/listops-afno-paper-cls-mlp-head-s1.dat" using 1:3 with linespoints title "afno (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-afno-paper-cls-mlp-head-s2.dat" using 1:3 with linespoints title "afno (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-afno-paper-cls-mlp-head-s3.dat" using 1:3 with linespoints title "afno (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-attention-paper-cls-mlp-head-s1.dat" using 1:3 with linespoints title "attention (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-attention-paper-cls-mlp-head-s2.dat" using 1:3 with linespoints title "attention (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-attention-pre_norm-s1.dat" using 1:3 with linespoints title "attention s1", \
     "docs/results/plot-data/listops-attention-pre_norm-s2.dat" using 1:3 with linespoints title "attention s2", \
     "docs/results/plot-data/listops-fftnet-paper-cls-s1.dat" using 1:3 with linespoints title "fftnet (paper, cls) s1", \
     "docs/results/plot-data/listops-fftnet-paper-cls-s2.dat" using 1:3 with linespoints title "fftnet (paper, cls) s2", \
     "docs/results/plot-data/listops-fftnet-paper-cls-s3.dat" using 1:3 with linespoints title "fftnet (paper, cls) s3", \
     "docs/results/plot-data/listops-fftnet-paper-cls-scalar-embedding-s1.dat" using 1:3 with linespoints title "fftnet (paper, cls, scalar embedding) s1", \
     "docs/results/plot-data/listops-fftnet-paper-cls-scalar-embedding-s2.dat" using 1:3 with linespoints title "fftnet (paper, cls, scalar embedding) s2", \
     "docs/results/plot-data/listops-fftnet-paper-cls-scalar-embedding-s3.dat" using 1:3 with linespoints title "fftnet (paper, cls, scalar embedding) s3", \
     "docs/results/plot-data/listops-fftnet-pre_norm-s1.dat" using 1:3 with linespoints title "fftnet s1", \
     "docs/results/plot-data/listops-fftnet-pre_norm-s2.dat" using 1:3 with linespoints title "fftnet s2", \
     "docs/results/plot-data/listops-fnet-paper-cls-mlp-head-s1.dat" using 1:3 with linespoints title "fnet (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-fnet-pre_norm-s1.dat" using 1:3 with linespoints title "fnet s1", \
     "docs/results/plot-data/listops-fnet-pre_norm-s2.dat" using 1:3 with linespoints title "fnet s2", \
     "docs/results/plot-data/listops-fnet-pre_norm-cls-mlp-head-s1.dat" using 1:3 with linespoints title "fnet (pre_norm, cls, mlp head) s1", \
     "docs/results/plot-data/listops-fnet-pre_norm-cls-mlp-head-s2.dat" using 1:3 with linespoints title "fnet (pre_norm, cls, mlp head) s2", \
     "docs/results/plot-data/listops-fnet-pre_norm-cls-mlp-head-s3.dat" using 1:3 with linespoints title "fnet (pre_norm, cls, mlp head) s3", \
     "docs/results/plot-data/listops-fourier_transformer-paper-cls-mlp-head-s1.dat" using 1:3 with linespoints title "fourier_transformer (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-fourier_transformer-paper-cls-mlp-head-s2.dat" using 1:3 with linespoints title "fourier_transformer (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-fourier_transformer-paper-cls-mlp-head-s3.dat" using 1:3 with linespoints title "fourier_transformer (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-fourier_transformer-pre_norm-s1.dat" using 1:3 with linespoints title "fourier_transformer s1", \
     "docs/results/plot-data/listops-fourier_transformer-pre_norm-s2.dat" using 1:3 with linespoints title "fourier_transformer s2", \
     "docs/results/plot-data/listops-gfnet-paper-cls-mlp-head-s1.dat" using 1:3 with linespoints title "gfnet (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-gfnet-paper-cls-mlp-head-s2.dat" using 1:3 with linespoints title "gfnet (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-gfnet-paper-cls-mlp-head-s3.dat" using 1:3 with linespoints title "gfnet (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-kernelized_rpe-paper-cls-mlp-head-sinusoidal-positions-embedding-std-1.0-s1.dat" using 1:3 with linespoints title "kernelized_rpe (paper, cls, mlp head, sinusoidal positions, embedding std 1.0) s1", \
     "docs/results/plot-data/listops-kernelized_rpe-pre_norm-s1.dat" using 1:3 with linespoints title "kernelized_rpe s1", \
     "docs/results/plot-data/listops-kernelized_rpe-pre_norm-s2.dat" using 1:3 with linespoints title "kernelized_rpe s2", \
     "docs/results/plot-data/listops-performer-paper-cls-mlp-head-s1.dat" using 1:3 with linespoints title "performer (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-performer-paper-cls-mlp-head-s2.dat" using 1:3 with linespoints title "performer (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-performer-paper-cls-mlp-head-s3.dat" using 1:3 with linespoints title "performer (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-performer-pre_norm-s1.dat" using 1:3 with linespoints title "performer s1", \
     "docs/results/plot-data/listops-performer-pre_norm-s2.dat" using 1:3 with linespoints title "performer s2", \
     0.1 with lines dashtype 2 linecolor rgb "gray" title "chance (1/10)"
set terminal pngcairo size 1200,1208 noenhanced
set key outside below center vertical font ",9"
set output "docs/results/listops-accuracy-by-time.png"
set title "listops: validation accuracy by wall-clock seconds (log scale)"
set xlabel "wall-clock seconds (log scale)"; set ylabel "validation accuracy"
set logscale x
plot "docs/results/plot-data/listops-afno-paper-cls-mlp-head-s1.dat" using 2:3 with linespoints title "afno (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-afno-paper-cls-mlp-head-s2.dat" using 2:3 with linespoints title "afno (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-afno-paper-cls-mlp-head-s3.dat" using 2:3 with linespoints title "afno (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-attention-paper-cls-mlp-head-s1.dat" using 2:3 with linespoints title "attention (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-attention-paper-cls-mlp-head-s2.dat" using 2:3 with linespoints title "attention (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-attention-pre_norm-s1.dat" using 2:3 with linespoints title "attention s1", \
     "docs/results/plot-data/listops-attention-pre_norm-s2.dat" using 2:3 with linespoints title "attention s2", \
     "docs/results/plot-data/listops-fftnet-paper-cls-s1.dat" using 2:3 with linespoints title "fftnet (paper, cls) s1", \
     "docs/results/plot-data/listops-fftnet-paper-cls-s2.dat" using 2:3 with linespoints title "fftnet (paper, cls) s2", \
     "docs/results/plot-data/listops-fftnet-paper-cls-s3.dat" using 2:3 with linespoints title "fftnet (paper, cls) s3", \
     "docs/results/plot-data/listops-fftnet-paper-cls-scalar-embedding-s1.dat" using 2:3 with linespoints title "fftnet (paper, cls, scalar embedding) s1", \
     "docs/results/plot-data/listops-fftnet-paper-cls-scalar-embedding-s2.dat" using 2:3 with linespoints title "fftnet (paper, cls, scalar embedding) s2", \
     "docs/results/plot-data/listops-fftnet-paper-cls-scalar-embedding-s3.dat" using 2:3 with linespoints title "fftnet (paper, cls, scalar embedding) s3", \
     "docs/results/plot-data/listops-fftnet-pre_norm-s1.dat" using 2:3 with linespoints title "fftnet s1", \
     "docs/results/plot-data/listops-fftnet-pre_norm-s2.dat" using 2:3 with linespoints title "fftnet s2", \
     "docs/results/plot-data/listops-fnet-paper-cls-mlp-head-s1.dat" using 2:3 with linespoints title "fnet (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-fnet-pre_norm-s1.dat" using 2:3 with linespoints title "fnet s1", \
     "docs/results/plot-data/listops-fnet-pre_norm-s2.dat" using 2:3 with linespoints title "fnet s2", \
     "docs/results/plot-data/listops-fnet-pre_norm-cls-mlp-head-s1.dat" using 2:3 with linespoints title "fnet (pre_norm, cls, mlp head) s1", \
     "docs/results/plot-data/listops-fnet-pre_norm-cls-mlp-head-s2.dat" using 2:3 with linespoints title "fnet (pre_norm, cls, mlp head) s2", \
     "docs/results/plot-data/listops-fnet-pre_norm-cls-mlp-head-s3.dat" using 2:3 with linespoints title "fnet (pre_norm, cls, mlp head) s3", \
     "docs/results/plot-data/listops-fourier_transformer-paper-cls-mlp-head-s1.dat" using 2:3 with linespoints title "fourier_transformer (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-fourier_transformer-paper-cls-mlp-head-s2.dat" using 2:3 with linespoints title "fourier_transformer (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-fourier_transformer-paper-cls-mlp-head-s3.dat" using 2:3 with linespoints title "fourier_transformer (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-fourier_transformer-pre_norm-s1.dat" using 2:3 with linespoints title "fourier_transformer s1", \
     "docs/results/plot-data/listops-fourier_transformer-pre_norm-s2.dat" using 2:3 with linespoints title "fourier_transformer s2", \
     "docs/results/plot-data/listops-gfnet-paper-cls-mlp-head-s1.dat" using 2:3 with linespoints title "gfnet (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-gfnet-paper-cls-mlp-head-s2.dat" using 2:3 with linespoints title "gfnet (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-gfnet-paper-cls-mlp-head-s3.dat" using 2:3 with linespoints title "gfnet (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-kernelized_rpe-paper-cls-mlp-head-sinusoidal-positions-embedding-std-1.0-s1.dat" using 2:3 with linespoints title "kernelized_rpe (paper, cls, mlp head, sinusoidal positions, embedding std 1.0) s1", \
     "docs/results/plot-data/listops-kernelized_rpe-pre_norm-s1.dat" using 2:3 with linespoints title "kernelized_rpe s1", \
     "docs/results/plot-data/listops-kernelized_rpe-pre_norm-s2.dat" using 2:3 with linespoints title "kernelized_rpe s2", \
     "docs/results/plot-data/listops-performer-paper-cls-mlp-head-s1.dat" using 2:3 with linespoints title "performer (paper, cls, mlp head) s1", \
     "docs/results/plot-data/listops-performer-paper-cls-mlp-head-s2.dat" using 2:3 with linespoints title "performer (paper, cls, mlp head) s2", \
     "docs/results/plot-data/listops-performer-paper-cls-mlp-head-s3.dat" using 2:3 with linespoints title "performer (paper, cls, mlp head) s3", \
     "docs/results/plot-data/listops-performer-pre_norm-s1.dat" using 2:3 with linespoints title "performer s1", \
     "docs/results/plot-data/listops-performer-pre_norm-s2.dat" using 2:3 with linespoints title "performer s2", \
     0.1 with lines dashtype 2 linecolor rgb "gray" title "chance (1/10)"
unset logscale x
set terminal pngcairo size 1200,808 noenhanced
set key outside below center vertical font ",9"
set output "docs/results/pathfinder-accuracy-by-step.png"
set title "pathfinder: validation accuracy by optimizer step"
set xlabel "optimizer step"; set ylabel "validation accuracy"
unset logscale x
plot "docs/results/plot-data/pathfinder-attention-pre_norm-s1.dat" using 1:3 with linespoints title "attention s1", \
     "docs/results/plot-data/pathfinder-attention-pre_norm-s2.dat" using 1:3 with linespoints title "attention s2", \
     "docs/results/plot-data/pathfinder-fftnet-pre_norm-s1.dat" using 1:3 with linespoints title "fftnet s1", \
     "docs/results/plot-data/pathfinder-fftnet-pre_norm-s2.dat" using 1:3 with linespoints title "fftnet s2", \
     "docs/results/plot-data/pathfinder-fnet-pre_norm-s1.dat" using 1:3 with linespoints title "fnet s1", \
     "docs/results/plot-data/pathfinder-fnet-pre_norm-s2.dat" using 1:3 with linespoints title "fnet s2", \
     "docs/results/plot-data/pathfinder-fourier_transformer-pre_norm-s1.dat" using 1:3 with linespoints title "fourier_transformer s1", \
     "docs/results/plot-data/pathfinder-fourier_transformer-pre_norm-s2.dat" using 1:3 with linespoints title "fourier_transformer s2", \
     "docs/results/plot-data/pathfinder-kernelized_rpe-pre_norm-s1.dat" using 1:3 with linespoints title "kernelized_rpe s1", \
     "docs/results/plot-data/pathfinder-kernelized_rpe-pre_norm-s2.dat" using 1:3 with linespoints title "kernelized_rpe s2", \
     "docs/results/plot-data/pathfinder-performer-pre_norm-s1.dat" using 1:3 with linespoints title "performer s1", \
     "docs/results/plot-data/pathfinder-performer-pre_norm-s2.dat" using 1:3 with linespoints title "performer s2", \
     0.5 with lines dashtype 2 linecolor rgb "gray" title "chance (1/2)"
set terminal pngcairo size 1200,808 noenhanced
set key outside below center vertical font ",9"
set output "docs/results/pathfinder-accuracy-by-time.png"
set title "pathfinder: validation accuracy by wall-clock seconds (log scale)"
set xlabel "wall-clock seconds (log scale)"; set ylabel "validation accuracy"
set logscale x
plot "docs/results/plot-data/pathfinder-attention-pre_norm-s1.dat" using 2:3 with linespoints title "attention s1", \
     "docs/results/plot-data/pathfinder-attention-pre_norm-s2.dat" using 2:3 with linespoints title "attention s2", \
     "docs/results/plot-data/pathfinder-fftnet-pre_norm-s1.dat" using 2:3 with linespoints title "fftnet s1", \
     "docs/results/plot-data/pathfinder-fftnet-pre_norm-s2.dat" using 2:3 with linespoints title "fftnet s2", \
     "docs/results/plot-data/pathfinder-fnet-pre_norm-s1.dat" using 2:3 with linespoints title "fnet s1", \
     "docs/results/plot-data/pathfinder-fnet-pre_norm-s2.dat" using 2:3 with linespoints title "fnet s2", \
     "docs/results/plot-data/pathfinder-fourier_transformer-pre_norm-s1.dat" using 2:3 with linespoints title "fourier_transformer s1", \
     "docs/results/plot-data/pathfinder-fourier_transformer-pre_norm-s2.dat" using 2:3 with linespoints title "fourier_transformer s2", \
     "docs/results/plot-data/pathfinder-kernelized_rpe-pre_norm-s1.dat" using 2:3 with linespoints title "kernelized_rpe s1", \
     "docs/results/plot-data/pathfinder-kernelized_rpe-pre_norm-s2.dat" using 2:3 with linespoints title "kernelized_rpe s2", \
     "docs/results/plot-data/pathfinder-performer-pre_norm-s1.dat" using 2:3 with linespoints title "performer s1", \
     "docs/results/plot-data/pathfinder-performer-pre_norm-s2.dat" using 2:3 with linespoints title "performer s2", \
     0.5 with lines dashtype 2 linecolor rgb "gray" title "chance (1/2)"
unset logscale x
set terminal pngcairo size 1200,952 noenhanced
set key outside below center vertical font ",9"
set output "docs/results/speed-accuracy.png"
set title "Test accuracy (mean of seeds, bar: lowest to highest) against training throughput"
set xlabel "tokens/s (training, log scale)"; set ylabel "test accuracy"; set logscale x
plot "docs/results/plot-data/speed-accuracy-listops-afno-paper-cls-mlp-head.dat" using 1:2:3:4 with yerrorbars linetype 1 pointtype 7 pointsize 1.6 title "listops afno (paper, cls, mlp head)", \
     "docs/results/plot-data/speed-accuracy-listops-attention.dat" using 1:2:3:4 with yerrorbars linetype 2 pointtype 7 pointsize 1.6 title "listops attention", \
     "docs/results/plot-data/speed-accuracy-listops-attention-paper-cls-mlp-head.dat" using 1:2:3:4 with yerrorbars linetype 3 pointtype 7 pointsize 1.6 title "listops attention (paper, cls, mlp head)", \
     "docs/results/plot-data/speed-accuracy-listops-fftnet.dat" using 1:2:3:4 with yerrorbars linetype 4 pointtype 7 pointsize 1.6 title "listops fftnet", \
     "docs/results/plot-data/speed-accuracy-listops-fftnet-paper-cls.dat" using 1:2:3:4 with yerrorbars linetype 5 pointtype 7 pointsize 1.6 title "listops fftnet (paper, cls)", \
     "docs/results/plot-data/speed-accuracy-listops-fftnet-paper-cls-scalar-embedding.dat" using 1:2:3:4 with yerrorbars linetype 6 pointtype 7 pointsize 1.6 title "listops fftnet (paper, cls, scalar embedding)", \
     "docs/results/plot-data/speed-accuracy-listops-fnet.dat" using 1:2:3:4 with yerrorbars linetype 7 pointtype 7 pointsize 1.6 title "listops fnet", \
     "docs/results/plot-data/speed-accuracy-listops-fnet-paper-cls-mlp-head.dat" using 1:2:3:4 with yerrorbars linetype 8 pointtype 7 pointsize 1.6 title "listops fnet (paper, cls, mlp head)", \
     "docs/results/plot-data/speed-accuracy-listops-fnet-pre_norm-cls-mlp-head.dat" using 1:2:3:4 with yerrorbars linetype 9 pointtype 7 pointsize 1.6 title "listops fnet (pre_norm, cls, mlp head)", \
     "docs/results/plot-data/speed-accuracy-listops-fourier_transformer.dat" using 1:2:3:4 with yerrorbars linetype 10 pointtype 7 pointsize 1.6 title "listops fourier_transformer", \
     "docs/results/plot-data/speed-accuracy-listops-fourier_transformer-paper-cls-mlp-head.dat" using 1:2:3:4 with yerrorbars linetype 11 pointtype 7 pointsize 1.6 title "listops fourier_transformer (paper, cls, mlp head)", \
     "docs/results/plot-data/speed-accuracy-listops-gfnet-paper-cls-mlp-head.dat" using 1:2:3:4 with yerrorbars linetype 12 pointtype 7 pointsize 1.6 title "listops gfnet (paper, cls, mlp head)", \
     "docs/results/plot-data/speed-accuracy-listops-kernelized_rpe.dat" using 1:2:3:4 with yerrorbars linetype 13 pointtype 7 pointsize 1.6 title "listops kernelized_rpe", \
     "docs/results/plot-data/speed-accuracy-listops-kernelized_rpe-paper-cls-mlp-head-sinusoidal-positions-embedding-std-1.0.dat" using 1:2:3:4 with yerrorbars linetype 14 pointtype 7 pointsize 1.6 title "listops kernelized_rpe (paper, cls, mlp head, sinusoidal positions, embedding std 1.0)", \
     "docs/results/plot-data/speed-accuracy-listops-performer.dat" using 1:2:3:4 with yerrorbars linetype 15 pointtype 7 pointsize 1.6 title "listops performer", \
     "docs/results/plot-data/speed-accuracy-listops-performer-paper-cls-mlp-head.dat" using 1:2:3:4 with yerrorbars linetype 16 pointtype 7 pointsize 1.6 title "listops performer (paper, cls, mlp head)", \
     "docs/results/plot-data/speed-accuracy-pathfinder-attention.dat" using 1:2:3:4 with yerrorbars linetype 2 pointtype 5 pointsize 1.6 title "pathfinder attention", \
     "docs/results/plot-data/speed-accuracy-pathfinder-fftnet.dat" using 1:2:3:4 with yerrorbars linetype 4 pointtype 5 pointsize 1.6 title "pathfinder fftnet", \
     "docs/results/plot-data/speed-accuracy-pathfinder-fnet.dat" using 1:2:3:4 with yerrorbars linetype 7 pointtype 5 pointsize 1.6 title "pathfinder fnet", \
     "docs/results/plot-data/speed-accuracy-pathfinder-fourier_transformer.dat" using 1:2:3:4 with yerrorbars linetype 10 pointtype 5 pointsize 1.6 title "pathfinder fourier_transformer", \
     "docs/results/plot-data/speed-accuracy-pathfinder-kernelized_rpe.dat" using 1:2:3:4 with yerrorbars linetype 13 pointtype 5 pointsize 1.6 title "pathfinder kernelized_rpe", \
     "docs/results/plot-data/speed-accuracy-pathfinder-performer.dat" using 1:2:3:4 with yerrorbars linetype 15 pointtype 5 pointsize 1.6 title "pathfinder performer"
unset logscale x
