// The objects behind the opaque C handles, their validation, and the step from descriptors
// to a Problem. Every check names the C argument it is about (x_desc, dy_desc, ...).
#pragma once

#include <cstdint>

#include "convx/convx.h"
#include "dtype.h"
#include "problem.h"

struct convxContext;
struct convxGconvStruct;  // capi/gconv.cpp

struct convxTensorStruct {
    bool set = false;
    int nbDims = 0;  // N, C, spatial...
    int64_t dims[CONVX_DIM_MAX] = {};
    int64_t strides[CONVX_DIM_MAX] = {};
    convx::DType dtype = convx::DType::F32;
};

struct convxFilterStruct {
    bool set = false;
    int nbDims = 0;  // K, C/groups, spatial... (whatever the format)
    int64_t dims[CONVX_DIM_MAX] = {};
    convx::DType dtype = convx::DType::F32;
    convx::Layout format = convx::Layout::NCHW;
};

struct convxConvolutionStruct {
    bool set = false;
    int nsp = 0;
    int64_t pad[CONVX_SPATIAL_DIM_MAX] = {};
    int64_t stride[CONVX_SPATIAL_DIM_MAX] = {};
    int64_t dil[CONVX_SPATIAL_DIM_MAX] = {};
    convxConvolutionMode_t mode = CONVX_CROSS_CORRELATION;
    convx::DType computeType = convx::DType::F32;
    int64_t groups = 1;
    convxMathType_t math = CONVX_DEFAULT_MATH;
};

namespace convx {

// Live-object tracking: a destroyed or foreign pointer is reported, not dereferenced. Each
// live object is recorded with its kind, so that a live object of another kind (a filter
// descriptor passed as a tensor descriptor, or a destroyed descriptor whose address now holds
// an object of another kind) is refused as well instead of being read as the wrong struct.
enum class ObjectKind { Handle, Tensor, Filter, Convolution, Gconv, Chain };
inline ObjectKind kindOf(const convxContext*) { return ObjectKind::Handle; }
inline ObjectKind kindOf(const convxTensorStruct*) { return ObjectKind::Tensor; }
inline ObjectKind kindOf(const convxFilterStruct*) { return ObjectKind::Filter; }
inline ObjectKind kindOf(const convxConvolutionStruct*) { return ObjectKind::Convolution; }
inline ObjectKind kindOf(const convxGconvStruct*) { return ObjectKind::Gconv; }
void trackObject(const void* p, ObjectKind kind);
void untrackObject(const void* p);
bool isTracked(const void* p, ObjectKind kind);
template <class T>
void trackObject(const T* p) {
    trackObject(p, kindOf(p));
}
template <class T>
bool isTracked(const T* p) {
    return isTracked(p, kindOf(p));
}

// Return the object behind a handle, or throw NULL_POINTER / INVALID_DESCRIPTOR naming `arg`.
// The *Set variants also require the descriptor to have been set.
convxTensorStruct& liveTensor(convxTensorDescriptor_t d, const char* arg);
convxFilterStruct& liveFilter(convxFilterDescriptor_t d, const char* arg);
convxConvolutionStruct& liveConvolution(convxConvolutionDescriptor_t d, const char* arg);
const convxTensorStruct& setTensor(convxTensorDescriptor_t d, const char* arg);
const convxFilterStruct& setFilter(convxFilterDescriptor_t d, const char* arg);
const convxConvolutionStruct& setConvolution(convxConvolutionDescriptor_t d, const char* arg);

// Setters' validation (enum values, ranges, overflow); they fill the struct only on success.
DType checkDType(int dtype, const char* arg);
Layout checkFormat(int format, const char* arg);
void setTensorDesc(convxTensorStruct& t, DType dt, int nbDims, const int* dims, const int* strides, const char* arg);
void setTensorDescPacked(convxTensorStruct& t, Layout format, DType dt, int nbDims, const int* dims, const char* arg);
void setFilterDesc(convxFilterStruct& f, DType dt, Layout format, int nbDims, const int* dims, const char* arg);
void setConvolutionDesc(convxConvolutionStruct& c, int nsp, const int* pads, const int* strides, const int* dils,
                        int mode, int computeType, const char* arg);

// Channels-first or channels-last, read off the strides (ties resolved towards packed forms).
Layout inferLayout(const convxTensorStruct& t);

// Output dims (N, K, spatial...) of a forward convolution; validates x, w and conv together.
void forwardOutputDims(const convxConvolutionStruct& conv, const convxTensorStruct& x, const convxFilterStruct& w,
                       int64_t outDims[CONVX_DIM_MAX], const char* convArg, const char* xArg, const char* wArg);

// The argument names of one direction's call, for messages.
struct ArgNames {
    const char* x;
    const char* w;
    const char* y;
    const char* conv;
};
ArgNames argNames(Direction d);

// Validates the descriptors of one call against each other and builds its Problem. names
// overrides the direction's argument names (a call that maps its arguments onto these roles).
Problem makeProblem(Direction dir, const convxTensorStruct& x, const convxFilterStruct& w,
                    const convxConvolutionStruct& conv, const convxTensorStruct& y, const ArgNames* names = nullptr);

}  // namespace convx
