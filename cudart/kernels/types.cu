// The mat-vec entry points of each weight type (matvec.cu's macros), after
// every dot strategy they use: FloatDot (matvec.cu), Int8Dot (int8dot.cu)
// and the tensor-core tiles of mmq.cu, mmqtile.cu and mmhalf.cu.

// MAT_TYPE declares every variant of one weight type; MAT_TYPE_INT8 that
// of Q4_0 and Q8_0, whose matvec variant dots int8 activations (Int8Dot)
// and whose matmul variant runs on the tensor cores in staged tiles
// (mmqtile.cu); MAT_TYPE_MMQ that of Q6_K, whose matmul variant runs on
// them with fragments read from the weights (mmq.cu); MAT_TYPE_HALF that
// of F16, BF16, Q4_K and Q5_K, whose matmul variant runs on them in half
// precision (mmhalf.cu). F32's stays in float (MAT_TYPE).
#define MAT_TYPE(type, D)                                                                                           \
    MAT_FORMS(matvec, type, D, FloatDot1<D>, MV_THREADS, false)                                                     \
    MAT_FORMS(mtmatvec, type, D, FloatDotMT<D>, MV_THREADS, false)                                                  \
    MAT_FORMS(matmul, type, D, FloatDotMT<D>, MV_THREADS, true)
#define MAT_TYPE_MMQ(type, D)                                                                                       \
    MAT_FORMS(matvec, type, D, FloatDot1<D>, MV_THREADS, false)                                                     \
    MAT_FORMS(mtmatvec, type, D, FloatDotMT<D>, MV_THREADS, false)                                                  \
    MMQ_FORMS(matmul, type, D)
#define MAT_TYPE_HALF(type, D)                                                                                      \
    MAT_FORMS(matvec, type, D, FloatDot1<D>, MV_THREADS, false)                                                     \
    MAT_FORMS(mtmatvec, type, D, FloatDotMT<D>, MV_THREADS, false)                                                  \
    MMH_FORMS(matmul, type, D)
#define MAT_TYPE_INT8(type, D)                                                                                      \
    MAT_FORMS(matvec, type, D, Int8Dot<D>, MVQ_THREADS, false)                                                      \
    MAT_FORMS(mtmatvec, type, D, FloatDotMT<D>, MV_THREADS, false)                                                  \
    MMQT_FORMS(matmul, type, D)

// One weight type per compilation (kernels.go defines MAT_<TYPE>): a
// model compiles only the types it has.
#ifdef MAT_F32
MAT_TYPE(f32, DecF32)
#endif
#ifdef MAT_F16
MAT_TYPE_HALF(f16, DecF16)
#endif
#ifdef MAT_BF16
MAT_TYPE_HALF(bf16, DecBF16)
#endif
#ifdef MAT_Q4_0
MAT_TYPE_INT8(q4_0, DecQ4_0)
#endif
#ifdef MAT_Q8_0
MAT_TYPE_INT8(q8_0, DecQ8_0)
#endif
#ifdef MAT_Q4_K
MAT_TYPE_HALF(q4_k, DecQ4_K)
#endif
#ifdef MAT_Q5_K
MAT_TYPE_HALF(q5_k, DecQ5_K)
#endif
#ifdef MAT_Q6_K
MAT_TYPE_MMQ(q6_k, DecQ6_K)
#endif
