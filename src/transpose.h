// The transposed convolution (ConvTranspose) of the C API, checked in its own terms.
//
// A ConvTranspose from in_channels to out_channels is exactly the BackwardData of the same
// convolution descriptor: its input x takes the dy role (N x in_channels x in...), its output y
// the dx role (N x out_channels x out...), and its weight, PyTorch's in_channels x
// out_channels/groups x k..., is the convolution's K x C/groups x k... filter. Per spatial dim
//   out = (in - 1)*stride - 2*pad + (k - 1)*dilation + 1 + output_padding,
// and the convolution maps every such out back onto in exactly when output_padding < stride.
// These checks run before the call is handed to BackwardData, so that the messages name the
// caller's arguments (x_desc, w_desc, y_desc) and speak of output_padding, not of dx and dy.
#pragma once

#include <cstdint>

#include "descriptors.h"

namespace convx {

// Output dims (N, out_channels, spatial...) of the ConvTranspose of x by w; outputPadding holds
// one entry per spatial dim (NULL: zeros). Fails naming x_desc, w_desc, convArg or
// output_padding[i]: ranks or channels that disagree, output_padding outside
// 0 .. max(stride, dilation) - 1 (PyTorch's rule), output_padding >= stride (NOT_SUPPORTED_SHAPE:
// not a BackwardData of the convolution), an output size below 1 or above INT_MAX.
void transposeOutputDims(const convxConvolutionStruct& conv, const convxTensorStruct& x, const convxFilterStruct& w,
                         const int* outputPadding, int64_t outDims[CONVX_DIM_MAX], const char* convArg);

// Checks the descriptors of a ConvTranspose call against each other: data types, ranks,
// channels, and y's dims against every size an output_padding in 0 .. stride - 1 gives.
void checkTransposeCall(const convxConvolutionStruct& conv, const convxTensorStruct& x, const convxFilterStruct& w,
                        const convxTensorStruct& y, const char* convArg);

}  // namespace convx
