/* core/base/shape.h - a sample or tensor shape as text, the two ways lpz
 * writes one: "(1, 28, 28)" in messages about a shape that does not fit
 * (as Python prints a tuple), "1x28x28" in summaries and tables. */
#ifndef LPZ_BASE_SHAPE_H
#define LPZ_BASE_SHAPE_H

#include <stddef.h>

#include "lpz/common.h"

/* "(1, 28, 28)"; "()" for no dimensions. Cut short when buf is too
 * small; buf is always terminated (size > 0). Returns buf. */
char *lpz_shape_format(const lpz_shape *s, char *buf, size_t size);

/* "1x28x28"; "" for no dimensions. As lpz_shape_format otherwise. */
char *lpz_shape_format_x(const lpz_shape *s, char *buf, size_t size);

#endif
