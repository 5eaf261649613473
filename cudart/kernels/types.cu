// The mat-vec entry points of each weight type (matvec.cu's macros), after
// every dot strategy they use: FloatDot (matvec.cu), Int8Dot (int8dot.cu)
// and the tensor-core tiles of mmq.cu, mmqtile.cu, mmhalf.cu and mmtf32.cu.

// MAT_TYPE_TILED declares every variant of one weight type whose matmul
// variant runs on the tensor cores with float activations, tile T
// (mmforms.cu): F32 in three TF32 products (mmtf32.cu), F16, BF16, Q4_K
// and Q5_K in half precision (mmhalf.cu). MAT_TYPE_INT8 declares that of
// Q4_0 and Q8_0, whose matvec variant dots int8 activations (Int8Dot)
// and whose matmul variant runs on int8 tiles (mmqtile.cu);
// MAT_TYPE_MMQ that of Q6_K, whose matmul variant runs on the tensor
// cores with fragments read from the weights (mmq.cu).
#define MAT_TYPE_TILED(type, D, T)                                                                                  \
    MAT_FORMS(matvec, type, D, FloatDot1<D>, MV_THREADS)                                                     \
    MAT_FORMS(mtmatvec, type, D, FloatDotMT<D>, MV_THREADS)                                                  \
    MMT_FLOAT_FORMS(matmul, type, D, T)
#define MAT_TYPE_MMQ(type, D)                                                                                       \
    MAT_FORMS(matvec, type, D, FloatDot1<D>, MV_THREADS)                                                     \
    MAT_FORMS(mtmatvec, type, D, FloatDotMT<D>, MV_THREADS)                                                  \
    MMQ_FORMS(matmul, type, D)
#define MAT_TYPE_INT8(type, D)                                                                                      \
    MAT_FORMS(matvec, type, D, Int8Dot<D>, MVQ_THREADS)                                                      \
    MAT_FORMS(mtmatvec, type, D, FloatDotMT<D>, MV_THREADS)                                                  \
    MMQT_FORMS(matmul, type, D)

// One weight type per compilation (kernels.go defines MAT_<TYPE>): a
// model compiles only the types it has.
#ifdef MAT_F32
MAT_TYPE_TILED(f32, DecF32, MmfTF32)
#endif
#ifdef MAT_F16
MAT_TYPE_TILED(f16, DecF16, MmhHalf)
#endif
#ifdef MAT_BF16
MAT_TYPE_TILED(bf16, DecBF16, MmhHalf)
#endif
#ifdef MAT_Q4_0
MAT_TYPE_INT8(q4_0, DecQ4_0)
#endif
#ifdef MAT_Q8_0
MAT_TYPE_INT8(q8_0, DecQ8_0)
#endif
#ifdef MAT_Q4_K
MAT_TYPE_TILED(q4_k, DecQ4_K, MmhHalf)
#endif
#ifdef MAT_Q5_K
MAT_TYPE_TILED(q5_k, DecQ5_K, MmhHalf)
#endif
#ifdef MAT_Q6_K
MAT_TYPE_MMQ(q6_k, DecQ6_K)
#endif
