// A Problem in cuDNN's legacy terms: data, compute and math types, mode, and int shapes (a 1-D
// problem becomes H = 1, since cuDNN wants 2 spatial dims). One definition for convx's cuDNN
// fallback and the bench's cuDNN columns, so both always run cuDNN with the same math.
#pragma once

#include <cudnn.h>

#include "problem.h"

namespace convx {

cudnnDataType_t cudnnDataTypeOf(DType t);
cudnnDataType_t cudnnComputeTypeOf(const Problem& p);
cudnnConvolutionMode_t cudnnModeOf(const Problem& p);
// The problem's math type; default math runs fp32 as plain FMA (cuDNN's own default would allow
// TF32 on sm80+), other types with cuDNN's default.
cudnnMathType_t cudnnMathTypeFor(const Problem& p);

struct CudnnShape {
    int nb = 0;  // tensor rank: N, C, then 2 or 3 spatial dims
    int x[5] = {}, xs[5] = {}, y[5] = {}, ys[5] = {}, w[5] = {};
    int pad[3] = {}, stride[3] = {}, dil[3] = {};
};
// Throws NOT_SUPPORTED_SHAPE when a size or stride does not fit cuDNN's int.
CudnnShape cudnnShapeOf(const Problem& p);

}  // namespace convx
