extension KernelWisdom {
    /// The committed kernel choices, one block per machine (`KernelChoices.cpu`: CPU model and
    /// oneDNN's ISA) measured with `parseval bench step --tune`: docs/benchmarks.md, "Measured
    /// kernel choices", says on which machine and with which commands. Runs read these first,
    /// then the user's file.
    public static let defaults: KernelWisdom = {
        do { return try KernelWisdom(parsing: defaultsText, source: "KernelChoices+Defaults.swift") } catch {
            preconditionFailure("the committed kernel choices do not parse: \(error)")
        }
    }()

    /// Intel Xeon family 6 model 207 without AMX (a 2-core VM whose CPU shows AVX-512 and
    /// AVX512-BF16 only), 2026-12-07: the standard encoder of every mixer in fp32 and bf16 at 2
    /// threads, and the study's cells at 1 thread. oneDNN's bf16 matmul lost to its sgemm at every
    /// shape measured here (the conversions included), so every bf16 request runs fp32 kernels.
    static let defaultsText = """
        # Parseval kernel choices (`parseval bench step --tune`): cpu, operation, precision, shape, choice, timings (s)
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tattention\tbf16\tn4096 d32 acausal t2\tfp32/b256\tbf16/b64=0.146 bf16/b32=0.154 bf16/b128=0.152 bf16/b256=0.159 fp32/b32=0.102 fp32/b64=0.0916 fp32/b128=0.0884 fp32/b256=0.088
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tattention\tfp32\tn1024 d16 acausal t1\tfp32/b128\tfp32/b64=0.00793 fp32/b32=0.0121 fp32/b128=0.0056 fp32/b256=0.00581
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tattention\tfp32\tn2048 d16 acausal t1\tfp32/b64\tfp32/b64=0.0154 fp32/b32=0.0155 fp32/b128=0.0162 fp32/b256=0.0187
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tattention\tfp32\tn256 d16 acausal t1\tfp32/b128\tfp32/b64=0.000222 fp32/b32=0.000238 fp32/b128=0.000216 fp32/b256=0.00023
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tattention\tfp32\tn4096 d32 acausal t2\tfp32/b128\tfp32/b64=0.0934 fp32/b32=0.102 fp32/b128=0.0917 fp32/b256=0.101
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tattention\tfp32\tn512 d16 acausal t1\tfp32/b128\tfp32/b64=0.00107 fp32/b32=0.00106 fp32/b128=0.00101 fp32/b256=0.00104
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m1 n256 k4096 t2\tonednn-fp32\tonednn-bf16=0.000446 onednn-fp32=9.75e-05 openblas=0.000368
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m16384 n1024 k256 t2\tonednn-fp32\tonednn-bf16=0.0548 onednn-fp32=0.029 openblas=0.142
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m16384 n256 k1024 t2\tonednn-fp32\tonednn-bf16=0.0671 onednn-fp32=0.0362 openblas=0.218
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m16384 n256 k256 t2\tonednn-fp32\tonednn-bf16=0.0167 onednn-fp32=0.0104 openblas=0.0571
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m4 n256 k16 t2\tonednn-fp32\tonednn-bf16=1.91e-05 onednn-fp32=7.78e-07 openblas=1.19e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m4 n256 k256 t2\tonednn-fp32\tonednn-bf16=4.57e-05 onednn-fp32=2.32e-05 openblas=2.92e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m4 n256 k32768 t2\tonednn-fp32\tonednn-bf16=0.0013 onednn-fp32=0.000485 openblas=0.00258
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m4096 n32 k128 t2\tonednn-fp32\tonednn-bf16=0.000385 onednn-fp32=0.000158 openblas=0.000549
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNN m4096 n32 k32 t2\tonednn-fp32\tonednn-bf16=0.000146 onednn-fp32=5.52e-05 openblas=0.000296
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m16384 n1024 k256 t2\tonednn-fp32\tonednn-bf16=0.0404 onednn-fp32=0.0233 openblas=0.108
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m16384 n256 k1024 t2\tonednn-fp32\tonednn-bf16=0.0574 onednn-fp32=0.0346 openblas=0.168
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m16384 n256 k256 t2\tonednn-fp32\tonednn-bf16=0.0268 onednn-fp32=0.00743 openblas=0.0411
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m4 n16 k256 t2\tonednn-fp32\tonednn-bf16=3.87e-06 onednn-fp32=5.22e-07 openblas=1.68e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m4 n256 k256 t2\topenblas\tonednn-bf16=0.000102 onednn-fp32=6.36e-05 openblas=3.84e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m4 n32768 k256 t2\tonednn-fp32\tonednn-bf16=0.00105 onednn-fp32=0.000672 openblas=0.00134
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m4096 n128 k32 t2\tonednn-fp32\tonednn-bf16=0.000289 onednn-fp32=0.000172 openblas=0.000526
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tNT m4096 n32 k32 t2\tonednn-fp32\tonednn-bf16=0.00014 onednn-fp32=5.83e-05 openblas=0.000212
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m1024 n256 k16384 t2\tonednn-fp32\tonednn-bf16=0.0593 onednn-fp32=0.0381 openblas=0.153
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m128 n32 k4096 t2\tonednn-fp32\tonednn-bf16=0.0005 onednn-fp32=0.000176 openblas=0.000646
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m16 n256 k4 t2\tonednn-fp32\tonednn-bf16=1.97e-05 onednn-fp32=7.39e-07 openblas=1.21e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m256 n1024 k16384 t2\tonednn-fp32\tonednn-bf16=0.0613 onednn-fp32=0.0337 openblas=0.136
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m256 n256 k16384 t2\tonednn-fp32\tonednn-bf16=0.0206 onednn-fp32=0.00953 openblas=0.0575
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m256 n256 k4 t2\topenblas\tonednn-bf16=8.11e-05 onednn-fp32=3.92e-05 openblas=2.62e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m32 n32 k4096 t2\tonednn-fp32\tonednn-bf16=0.000218 onednn-fp32=5.44e-05 openblas=0.000224
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tbf16\tTN m32768 n256 k4 t2\tonednn-fp32\tonednn-bf16=0.0011 onednn-fp32=0.000567 openblas=0.000958
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1 n256 k4096 t2\tonednn-fp32\tonednn-fp32=0.000121 openblas=0.000476
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1 n32 k1024 t1\tonednn-fp32\tonednn-fp32=2.1e-06 openblas=8.25e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1 n32 k2048 t1\tonednn-fp32\tonednn-fp32=2.23e-06 openblas=7.45e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1 n32 k256 t1\tonednn-fp32\tonednn-fp32=8.6e-07 openblas=2.24e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1 n64 k2048 t1\tonednn-fp32\tonednn-fp32=5.32e-06 openblas=3.05e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1 n64 k512 t1\tonednn-fp32\tonednn-fp32=1.48e-06 openblas=8.72e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1024 n16 k16 t1\tonednn-fp32\tonednn-fp32=4.35e-06 openblas=2.65e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1024 n16 k64 t1\tonednn-fp32\tonednn-fp32=1.23e-05 openblas=6.44e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m1024 n32 k16 t1\tonednn-fp32\tonednn-fp32=1.21e-05 openblas=5e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m128 n16 k1024 t1\tonednn-fp32\tonednn-fp32=4.31e-05 openblas=0.000288
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m128 n16 k2048 t1\tonednn-fp32\tonednn-fp32=5.69e-05 openblas=0.000319
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m128 n16 k256 t1\tonednn-fp32\tonednn-fp32=6.76e-06 openblas=3.4e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m128 n16 k512 t1\tonednn-fp32\tonednn-fp32=1.94e-05 openblas=0.000123
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m128 n32 k4096 t1\tonednn-fp32\tonednn-fp32=0.000215 openblas=0.00123
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16 n128 k16 t1\tonednn-fp32\tonednn-fp32=9.62e-07 openblas=2.07e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16 n16 k256 t1\tonednn-fp32\tonednn-fp32=1.23e-06 openblas=4.47e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16 n64 k128 t1\tonednn-fp32\tonednn-fp32=2.45e-06 openblas=1.03e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16 n64 k16 t1\tonednn-fp32\tonednn-fp32=5.36e-07 openblas=1.15e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16 n64 k4096 t1\tonednn-fp32\tonednn-fp32=7.16e-05 openblas=0.00046
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16 n64 k64 t1\tonednn-fp32\tonednn-fp32=2.15e-06 openblas=6.92e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16384 n1024 k256 t2\tonednn-fp32\tonednn-fp32=0.0285 openblas=0.147
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16384 n256 k1024 t2\tonednn-fp32\tonednn-fp32=0.0389 openblas=0.211
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16384 n256 k256 t2\tonednn-fp32\tonednn-fp32=0.00736 openblas=0.0383
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m16384 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000346 openblas=0.00214
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m2048 n16 k16 t1\tonednn-fp32\tonednn-fp32=8.21e-06 openblas=7.34e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m2048 n16 k64 t1\tonednn-fp32\tonednn-fp32=2.21e-05 openblas=0.000125
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m2048 n32 k16 t1\tonednn-fp32\tonednn-fp32=2.18e-05 openblas=9.88e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m256 n16 k1024 t1\tonednn-fp32\tonednn-fp32=7.46e-05 openblas=0.000476
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m256 n16 k16 t1\tonednn-fp32\tonednn-fp32=1.31e-06 openblas=5.73e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m256 n16 k2048 t1\tonednn-fp32\tonednn-fp32=0.00012 openblas=0.00068
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m256 n16 k256 t1\tonednn-fp32\tonednn-fp32=1.31e-05 openblas=7.75e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m256 n16 k512 t1\tonednn-fp32\tonednn-fp32=3.1e-05 openblas=0.000228
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m256 n16 k64 t1\tonednn-fp32\tonednn-fp32=3.71e-06 openblas=1.31e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m256 n32 k4096 t1\tonednn-fp32\tonednn-fp32=0.000506 openblas=0.00344
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n16 k1024 t1\tonednn-fp32\tonednn-fp32=9.82e-06 openblas=4.29e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n16 k2048 t1\tonednn-fp32\tonednn-fp32=1.41e-05 openblas=7.77e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n16 k256 t1\tonednn-fp32\tonednn-fp32=1.88e-06 openblas=9.03e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n16 k512 t1\tonednn-fp32\tonednn-fp32=3.53e-06 openblas=1.84e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n32 k2 t1\tonednn-fp32\tonednn-fp32=9.03e-07 openblas=9.85e-07
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n32 k2048 t1\tonednn-fp32\tonednn-fp32=1.9e-05 openblas=0.000158
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n32 k32 t1\tonednn-fp32\tonednn-fp32=1.63e-06 openblas=4.39e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32 n32 k4096 t1\tonednn-fp32\tonednn-fp32=4.85e-05 openblas=0.000306
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32768 n128 k64 t1\tonednn-fp32\tonednn-fp32=0.00361 openblas=0.0196
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32768 n32 k128 t1\tonednn-fp32\tonednn-fp32=0.00185 openblas=0.0106
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32768 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000682 openblas=0.00422
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32768 n64 k128 t1\tonednn-fp32\tonednn-fp32=0.00358 openblas=0.0194
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32768 n64 k256 t1\tonednn-fp32\tonednn-fp32=0.00581 openblas=0.0292
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m32768 n64 k64 t1\tonednn-fp32\tonednn-fp32=0.00172 openblas=0.0095
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m4 n256 k16 t2\tonednn-fp32\tonednn-fp32=1.03e-06 openblas=2.09e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m4 n256 k256 t2\tonednn-fp32\tonednn-fp32=1.62e-05 openblas=4.07e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m4 n256 k32768 t2\tonednn-fp32\tonednn-fp32=0.00105 openblas=0.00175
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m4096 n32 k128 t2\tonednn-fp32\tonednn-fp32=0.000234 openblas=0.000841
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m4096 n32 k32 t2\tonednn-fp32\tonednn-fp32=6.75e-05 openblas=0.000308
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m4096 n32 k64 t2\tonednn-fp32\tonednn-fp32=0.000126 openblas=0.00068
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m4096 n64 k64 t2\tonednn-fp32\tonednn-fp32=0.00026 openblas=0.000641
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m512 n16 k16 t1\tonednn-fp32\tonednn-fp32=3.4e-06 openblas=1.78e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m512 n16 k64 t1\tonednn-fp32\tonednn-fp32=7.84e-06 openblas=3.17e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m64 n16 k1024 t1\tonednn-fp32\tonednn-fp32=2.04e-05 openblas=0.000137
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m64 n16 k2048 t1\tonednn-fp32\tonednn-fp32=4.06e-05 openblas=0.000204
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m64 n16 k256 t1\tonednn-fp32\tonednn-fp32=3.6e-06 openblas=1.72e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m64 n16 k512 t1\tonednn-fp32\tonednn-fp32=9.62e-06 openblas=5.86e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m64 n32 k4096 t1\tonednn-fp32\tonednn-fp32=0.000101 openblas=0.000873
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m65536 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000636 openblas=0.00469
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m8192 n128 k64 t1\tonednn-fp32\tonednn-fp32=0.00105 openblas=0.00615
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m8192 n32 k128 t1\tonednn-fp32\tonednn-fp32=0.000375 openblas=0.00245
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m8192 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000125 openblas=0.000912
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m8192 n64 k128 t1\tonednn-fp32\tonednn-fp32=0.00115 openblas=0.0042
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m8192 n64 k256 t1\tonednn-fp32\tonednn-fp32=0.00159 openblas=0.00843
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNN m8192 n64 k64 t1\tonednn-fp32\tonednn-fp32=0.000499 openblas=0.00308
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m1024 n16 k16 t1\tonednn-fp32\tonednn-fp32=4.48e-06 openblas=2.67e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m1024 n16 k32 t1\tonednn-fp32\tonednn-fp32=8.84e-06 openblas=4.76e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m1024 n64 k16 t1\tonednn-fp32\tonednn-fp32=1.53e-05 openblas=6.6e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m128 n1024 k16 t1\tonednn-fp32\tonednn-fp32=4.12e-05 openblas=0.00023
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m128 n2048 k16 t1\tonednn-fp32\tonednn-fp32=6.49e-05 openblas=0.000329
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m128 n256 k16 t1\tonednn-fp32\tonednn-fp32=1.01e-05 openblas=3.43e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m128 n4096 k32 t1\tonednn-fp32\tonednn-fp32=0.000249 openblas=0.00123
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m128 n512 k16 t1\tonednn-fp32\tonednn-fp32=2.08e-05 openblas=0.000109
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16 n128 k64 t1\tonednn-fp32\tonednn-fp32=3.62e-06 openblas=1.1e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16 n16 k128 t1\tonednn-fp32\tonednn-fp32=1.67e-06 openblas=2.39e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16 n16 k64 t1\tonednn-fp32\tonednn-fp32=9.82e-07 openblas=1.24e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16 n256 k16 t1\tonednn-fp32\tonednn-fp32=3.27e-06 openblas=4.66e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16 n4096 k64 t1\tonednn-fp32\tonednn-fp32=9.73e-05 openblas=0.000328
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16 n64 k64 t1\tonednn-fp32\tonednn-fp32=2.5e-06 openblas=5.65e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16384 n1024 k256 t2\tonednn-fp32\tonednn-fp32=0.0289 openblas=0.122
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16384 n256 k1024 t2\tonednn-fp32\tonednn-fp32=0.033 openblas=0.146
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16384 n256 k256 t2\tonednn-fp32\tonednn-fp32=0.00777 openblas=0.038
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m16384 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000321 openblas=0.00176
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m2048 n16 k16 t1\tonednn-fp32\tonednn-fp32=1.44e-05 openblas=7.74e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m2048 n16 k32 t1\tonednn-fp32\tonednn-fp32=1.53e-05 openblas=8.62e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m2048 n64 k16 t1\tonednn-fp32\tonednn-fp32=2.99e-05 openblas=0.000196
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m256 n1024 k16 t1\tonednn-fp32\tonednn-fp32=6.8e-05 openblas=0.000451
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m256 n16 k16 t1\tonednn-fp32\tonednn-fp32=1.33e-06 openblas=5.8e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m256 n2048 k16 t1\tonednn-fp32\tonednn-fp32=0.000201 openblas=0.000654
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m256 n256 k16 t1\tonednn-fp32\tonednn-fp32=1.06e-05 openblas=7.52e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m256 n4096 k32 t1\tonednn-fp32\tonednn-fp32=0.000612 openblas=0.00315
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m256 n512 k16 t1\tonednn-fp32\tonednn-fp32=3.49e-05 openblas=0.000184
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m256 n64 k16 t1\tonednn-fp32\tonednn-fp32=3.58e-06 openblas=1.38e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n1024 k16 t1\topenblas\tonednn-fp32=0.000195 openblas=4.5e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n2 k32 t1\topenblas\tonednn-fp32=1.29e-06 openblas=9.8e-07
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n2048 k16 t1\tonednn-fp32\tonednn-fp32=1.89e-05 openblas=6.93e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n2048 k32 t1\topenblas\tonednn-fp32=0.000385 openblas=0.000116
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n256 k16 t1\tonednn-fp32\tonednn-fp32=2.48e-06 openblas=9.81e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n32 k32 t1\tonednn-fp32\tonednn-fp32=1.7e-06 openblas=3.78e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n4096 k32 t1\tonednn-fp32\tonednn-fp32=8.26e-05 openblas=0.000325
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32 n512 k16 t1\tonednn-fp32\tonednn-fp32=4.07e-06 openblas=1.61e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32768 n128 k32 t1\tonednn-fp32\tonednn-fp32=0.00171 openblas=0.012
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32768 n128 k64 t1\tonednn-fp32\tonednn-fp32=0.00352 openblas=0.0193
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32768 n256 k64 t1\tonednn-fp32\tonednn-fp32=0.00532 openblas=0.0299
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32768 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000657 openblas=0.00404
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32768 n64 k128 t1\tonednn-fp32\tonednn-fp32=0.00361 openblas=0.0184
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m32768 n64 k64 t1\tonednn-fp32\tonednn-fp32=0.00184 openblas=0.0095
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m4 n16 k256 t2\tonednn-fp32\tonednn-fp32=7.24e-07 openblas=2.36e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m4 n256 k256 t2\tonednn-fp32\tonednn-fp32=1.76e-05 openblas=3.35e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m4 n32768 k256 t2\tonednn-fp32\tonednn-fp32=0.00128 openblas=0.00136
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m4096 n128 k32 t2\tonednn-fp32\tonednn-fp32=0.000131 openblas=0.000779
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m4096 n32 k32 t2\tonednn-fp32\tonednn-fp32=8.43e-05 openblas=0.000311
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m4096 n64 k32 t2\tonednn-fp32\tonednn-fp32=0.000156 openblas=0.00042
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m4096 n64 k64 t2\tonednn-fp32\tonednn-fp32=0.000172 openblas=0.000662
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m512 n16 k16 t1\tonednn-fp32\tonednn-fp32=3.16e-06 openblas=1.75e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m512 n64 k16 t1\tonednn-fp32\tonednn-fp32=8.57e-06 openblas=4.2e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m64 n1024 k16 t1\topenblas\tonednn-fp32=0.000191 openblas=8.56e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m64 n2048 k16 t1\tonednn-fp32\tonednn-fp32=4.97e-05 openblas=0.000253
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m64 n256 k16 t1\tonednn-fp32\tonednn-fp32=5.47e-06 openblas=1.77e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m64 n4096 k32 t1\tonednn-fp32\tonednn-fp32=0.000205 openblas=0.000713
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m64 n512 k16 t1\tonednn-fp32\tonednn-fp32=1.2e-05 openblas=5.59e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m65536 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000633 openblas=0.00462
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m8192 n128 k32 t1\tonednn-fp32\tonednn-fp32=0.000253 openblas=0.00179
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m8192 n128 k64 t1\tonednn-fp32\tonednn-fp32=0.000996 openblas=0.00612
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m8192 n256 k64 t1\tonednn-fp32\tonednn-fp32=0.00136 openblas=0.00893
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m8192 n32 k32 t1\tonednn-fp32\tonednn-fp32=0.000132 openblas=0.000834
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m8192 n64 k128 t1\tonednn-fp32\tonednn-fp32=0.00111 openblas=0.0063
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tNT m8192 n64 k64 t1\tonednn-fp32\tonednn-fp32=0.00056 openblas=0.00315
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m1024 n16 k128 t1\tonednn-fp32\tonednn-fp32=5.42e-05 openblas=0.000246
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m1024 n16 k256 t1\tonednn-fp32\tonednn-fp32=0.000111 openblas=0.000522
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m1024 n16 k32 t1\tonednn-fp32\tonednn-fp32=1.05e-05 openblas=4.22e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m1024 n16 k64 t1\tonednn-fp32\tonednn-fp32=1.96e-05 openblas=8.26e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m1024 n256 k16384 t2\tonednn-fp32\tonednn-fp32=0.0364 openblas=0.232
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m128 n32 k32768 t1\tonednn-fp32\tonednn-fp32=0.00222 openblas=0.0104
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m128 n32 k4096 t2\tonednn-fp32\tonednn-fp32=0.000269 openblas=0.000836
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m128 n32 k8192 t1\tonednn-fp32\tonednn-fp32=0.000382 openblas=0.00233
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m128 n64 k16 t1\tonednn-fp32\tonednn-fp32=3.13e-06 openblas=9.22e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m128 n64 k32768 t1\tonednn-fp32\tonednn-fp32=0.00407 openblas=0.0182
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m128 n64 k8192 t1\tonednn-fp32\tonednn-fp32=0.00104 openblas=0.00615
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n128 k16 t1\tonednn-fp32\tonednn-fp32=8.52e-07 openblas=1.65e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n16 k1024 t1\tonednn-fp32\tonednn-fp32=4.21e-06 openblas=2.17e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n16 k2048 t1\tonednn-fp32\tonednn-fp32=1.27e-05 openblas=6.11e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n16 k256 t1\tonednn-fp32\tonednn-fp32=1.29e-06 openblas=4.74e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n16 k512 t1\tonednn-fp32\tonednn-fp32=2.96e-06 openblas=1.22e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n256 k4 t2\tonednn-fp32\tonednn-fp32=9.6e-07 openblas=1.88e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n32 k1024 t1\tonednn-fp32\tonednn-fp32=1.3e-05 openblas=4.83e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n32 k2048 t1\tonednn-fp32\tonednn-fp32=2.17e-05 openblas=8.47e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m16 n64 k16 t1\tonednn-fp32\tonednn-fp32=5.65e-07 openblas=9.2e-07
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m2 n32 k32 t1\topenblas\tonednn-fp32=7.27e-07 openblas=5.56e-07
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m2048 n16 k128 t1\tonednn-fp32\tonednn-fp32=7.23e-05 openblas=0.000313
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m2048 n16 k256 t1\tonednn-fp32\tonednn-fp32=0.000207 openblas=0.000634
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m2048 n16 k32 t1\tonednn-fp32\tonednn-fp32=1.55e-05 openblas=6.1e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m2048 n16 k64 t1\tonednn-fp32\tonednn-fp32=3.09e-05 openblas=0.000151
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m2048 n32 k32 t1\tonednn-fp32\tonednn-fp32=2.56e-05 openblas=0.000131
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n1024 k16384 t2\tonednn-fp32\tonednn-fp32=0.0398 openblas=0.149
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n16 k128 t1\tonednn-fp32\tonednn-fp32=7e-06 openblas=3.3e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n16 k16 t1\tonednn-fp32\tonednn-fp32=1.18e-06 openblas=4.01e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n16 k256 t1\tonednn-fp32\tonednn-fp32=1.03e-05 openblas=5.03e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n16 k32 t1\tonednn-fp32\tonednn-fp32=2.07e-06 openblas=8.36e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n16 k64 t1\tonednn-fp32\tonednn-fp32=3.88e-06 openblas=1.57e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n256 k16384 t2\tonednn-fp32\tonednn-fp32=0.01 openblas=0.0582
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n256 k4 t2\tonednn-fp32\tonednn-fp32=2.15e-05 openblas=3.62e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n64 k32768 t1\tonednn-fp32\tonednn-fp32=0.00624 openblas=0.0269
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m256 n64 k8192 t1\tonednn-fp32\tonednn-fp32=0.00151 openblas=0.00782
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m32 n32 k16384 t1\tonednn-fp32\tonednn-fp32=0.00036 openblas=0.00182
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m32 n32 k32 t1\tonednn-fp32\tonednn-fp32=1.38e-06 openblas=3.32e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m32 n32 k32768 t1\tonednn-fp32\tonednn-fp32=0.000702 openblas=0.00322
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m32 n32 k4096 t2\tonednn-fp32\tonednn-fp32=8.19e-05 openblas=0.000326
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m32 n32 k65536 t1\tonednn-fp32\tonednn-fp32=0.000689 openblas=0.00486
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m32 n32 k8192 t1\tonednn-fp32\tonednn-fp32=0.000125 openblas=0.000916
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m32768 n256 k4 t2\tonednn-fp32\tonednn-fp32=0.0009 openblas=0.00145
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m4096 n32 k128 t1\tonednn-fp32\tonednn-fp32=0.000277 openblas=0.00117
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m4096 n32 k256 t1\tonednn-fp32\tonednn-fp32=0.000505 openblas=0.00236
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m4096 n32 k32 t1\tonednn-fp32\tonednn-fp32=5.43e-05 openblas=0.000307
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m4096 n32 k64 t1\tonednn-fp32\tonednn-fp32=0.000156 openblas=0.000822
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m4096 n64 k16 t1\tonednn-fp32\tonednn-fp32=6e-05 openblas=0.000278
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m512 n16 k128 t1\tonednn-fp32\tonednn-fp32=1.55e-05 openblas=9.11e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m512 n16 k256 t1\tonednn-fp32\tonednn-fp32=3.41e-05 openblas=0.000189
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m512 n16 k32 t1\tonednn-fp32\tonednn-fp32=3.92e-06 openblas=1.67e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m512 n16 k64 t1\tonednn-fp32\tonednn-fp32=1.02e-05 openblas=5.33e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n128 k32768 t1\tonednn-fp32\tonednn-fp32=0.00408 openblas=0.018
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n128 k8192 t1\tonednn-fp32\tonednn-fp32=0.00103 openblas=0.00607
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n16 k1024 t1\tonednn-fp32\tonednn-fp32=1.17e-05 openblas=6e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n16 k2048 t1\tonednn-fp32\tonednn-fp32=2.24e-05 openblas=0.000115
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n16 k256 t1\tonednn-fp32\tonednn-fp32=2.68e-06 openblas=1.26e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n16 k512 t1\tonednn-fp32\tonednn-fp32=7.19e-06 openblas=4.16e-05
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n64 k16 t1\tonednn-fp32\tonednn-fp32=2.63e-06 openblas=6.78e-06
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n64 k32768 t1\tonednn-fp32\tonednn-fp32=0.00208 openblas=0.00926
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n64 k4096 t2\tonednn-fp32\tonednn-fp32=0.000385 openblas=0.000698
        Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16\tgemm\tfp32\tTN m64 n64 k8192 t1\tonednn-fp32\tonednn-fp32=0.000505 openblas=0.00286
        """
}
