"""Tolerances for comparing two float computations of the same sums, derived instead of tuned.

Two correct implementations (a fused kernel and autograd, chunked and whole, another CPU's SIMD width)
add the same terms in different orders. Summing n terms in floating point is off by at most about
n·eps·Σ|terms| (Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2); the terms are not kept,
so the largest magnitude of the reference result stands in for Σ|terms|. A tolerance tuned to one CPU
(1e-5) broke at 1.89e-5 on another; this one scales with the dtype and the reduction, and each
comparison also plants an error just above it to show the check still bites.
"""

from __future__ import annotations

import pytest
import torch


def summation_tolerance(reference: torch.Tensor, reduction_size: int) -> float:
    """Largest difference expected between two summation orders of `reduction_size` terms."""
    eps = torch.finfo(reference.dtype).eps
    return reduction_size * eps * max(reference.detach().abs().max().item(), 1.0)


def assert_sums_close(actual: torch.Tensor, expected: torch.Tensor, reduction_size: int) -> None:
    """`actual` equals `expected` within the summation tolerance, and an error of 1.5x it would fail."""
    tolerance = summation_tolerance(expected, reduction_size)
    torch.testing.assert_close(actual, expected, atol=tolerance, rtol=0)
    planted = expected.detach().clone()
    planted.view(-1)[0] += 1.5 * tolerance
    with pytest.raises(AssertionError):
        torch.testing.assert_close(planted, expected, atol=tolerance, rtol=0)
