/* Symbol visibility for the convx C API. The library is built with hidden visibility;
 * only what is marked CONVX_API is exported. Define CONVX_STATIC_DEFINE when linking
 * the static library. */
#ifndef CONVX_EXPORT_H
#define CONVX_EXPORT_H

#if defined(CONVX_STATIC_DEFINE)
#define CONVX_API
#elif defined(_WIN32)
#if defined(CONVX_BUILDING_LIBRARY)
#define CONVX_API __declspec(dllexport)
#else
#define CONVX_API __declspec(dllimport)
#endif
#else
#define CONVX_API __attribute__((visibility("default")))
#endif

#endif /* CONVX_EXPORT_H */
