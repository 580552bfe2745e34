// libjpeg-turbo's TurboJPEG API: whole-image calls that return an error code (libjpeg's
// error_exit is caught inside the library with setjmp, which Swift cannot do).
#include <turbojpeg.h>
