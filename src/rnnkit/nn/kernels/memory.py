"""Software prefetch for the kernels' batch-first arrays.

At every step a kernel touches one short piece of each batch row (``(B*T, C)`` view, row
``b*T + t``): with 64 rows and three arrays that is ~200 interleaved streams, far more than the
hardware prefetchers follow, so nearly every piece is a cache miss waiting on memory. Asking for
the piece :data:`AHEAD` steps ahead while the current step computes hides that wait (distances
from 2 to 32 steps all did about as well).

:func:`prefetch_read` and :func:`prefetch_write` are numba intrinsics (``llvm.prefetch``), one
instruction per 64-byte line; a prefetch never faults and never changes a result.
The kernels find the rows ``AHEAD`` steps away with :func:`rnnkit.nn.kernels.layout.row_at`.

Example:
    >>> import numpy as np
    >>> from numba import njit
    >>> from rnnkit.nn.kernels.memory import prefetch_read
    >>> @njit
    ... def touch(a):
    ...     prefetch_read(a, 1, 0, a.shape[1])
    ...     return a[1, 0]
    >>> float(touch(np.ones((2, 40))))
    1.0
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

AHEAD = 8
_LINE = 64


def _prefetch_intrinsic(write: int) -> Any:
    @intrinsic
    def prefetch(typingctx, array, row, start, stop):  # type: ignore[no-untyped-def]
        signature = types.void(array, row, start, stop)

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            array_type = sig.args[0]
            view = context.make_array(array_type)(context, builder, args[0])
            shape = cgutils.unpack_tuple(builder, view.shape)
            strides = cgutils.unpack_tuple(builder, view.strides)
            row_index = context.cast(builder, args[1], sig.args[1], types.intp)

            def address(position: int) -> Any:
                column = context.cast(builder, args[position], sig.args[position], types.intp)
                pointer = cgutils.get_item_pointer2(
                    context, builder, view.data, shape, strides, array_type.layout,
                    [row_index, column], wraparound=False,
                )
                return builder.ptrtoint(pointer, cgutils.intp_t)

            first, end = address(2), address(3)
            byte_pointer = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            function = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
                "llvm.prefetch.p0",
            )
            line = ir.Constant(cgutils.intp_t, _LINE)
            span = builder.sub(end, first)
            lines = builder.udiv(builder.add(span, ir.Constant(cgutils.intp_t, _LINE - 1)), line)
            with cgutils.for_range(builder, lines) as loop:
                at = builder.add(first, builder.mul(loop.index, line))
                # write flag, locality 3 (keep in all cache levels), data cache
                flags = [ir.Constant(i32, write), ir.Constant(i32, 3), ir.Constant(i32, 1)]
                builder.call(function, [builder.inttoptr(at, byte_pointer), *flags])
            return context.get_dummy_value()

        return signature, codegen

    return prefetch


prefetch_read = _prefetch_intrinsic(0)
prefetch_read.__doc__ = "``prefetch_read(a, row, start, stop)``: bring ``a[row, start:stop]`` in."
prefetch_write = _prefetch_intrinsic(1)
prefetch_write.__doc__ = "``prefetch_write(a, row, start, stop)``: the same, about to be written."
