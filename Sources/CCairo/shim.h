// cairo for figures: image surfaces (PNG), SVG surfaces, and cairo-ft to check which font
// fontconfig resolved "DejaVu Sans" to.
#include <cairo.h>
#include <cairo-svg.h>
#include <cairo-ft.h>
