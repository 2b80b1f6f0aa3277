//! Matrix products on one thread, over strided views of plain `f32` slices, by the `gemm`
//! crate (candle's own kernels, which pick AVX-512 or AVX2 at run time).
//!
//! This is the one module of the crate with unsafe code: `gemm::gemm` takes raw pointers
//! and strides. `View` and `ViewMut` check, when they are made, that every element their
//! shape and strides reach lies inside their slice, and `product` checks that the shapes
//! agree; the borrow checker keeps the destination apart from both operands. Under those
//! checks the call cannot read or write outside the slices it was given.
#![allow(unsafe_code)]

/// A read-only matrix: element `(row, col)` is `data[row * row_stride + col * col_stride]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// A writable matrix, laid out as `View`.
pub struct ViewMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// Whether the last element of a `rows × cols` shape with these strides lies inside `len`.
fn fits(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * row_stride + (cols - 1) * col_stride < len
}

impl<'a> View<'a> {
    /// A view of `data`; panics if the shape and strides reach past its end.
    pub fn new(data: &'a [f32], rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Self {
        assert!(fits(data.len(), rows, cols, row_stride, col_stride), "matrix view out of bounds");
        Self { data, rows, cols, row_stride, col_stride }
    }

    /// The rows of a row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Self::new(data, data.len().checked_div(cols).unwrap_or(0), cols, cols, 1)
    }
}

impl<'a> ViewMut<'a> {
    /// A view of `data`; panics if the shape and strides reach past its end.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Self {
        assert!(fits(data.len(), rows, cols, row_stride, col_stride), "matrix view out of bounds");
        Self { data, rows, cols, row_stride, col_stride }
    }

    /// The rows of a row-major matrix with `cols` columns.
    pub fn rows(data: &'a mut [f32], cols: usize) -> Self {
        let rows = data.len().checked_div(cols).unwrap_or(0);
        Self::new(data, rows, cols, cols, 1)
    }
}

/// `dst = scale · lhs · rhs`, or `dst += scale · lhs · rhs` when `accumulate`, on the
/// calling thread. Panics if the shapes disagree.
pub fn product(dst: ViewMut<'_>, lhs: View<'_>, rhs: View<'_>, scale: f32, accumulate: bool) {
    assert!(
        dst.rows == lhs.rows && dst.cols == rhs.cols && lhs.cols == rhs.rows,
        "matrix shapes disagree: {}×{} = {}×{} · {}×{}",
        dst.rows,
        dst.cols,
        lhs.rows,
        lhs.cols,
        rhs.rows,
        rhs.cols
    );
    if dst.rows == 0 || dst.cols == 0 {
        return;
    }
    let stride = |s: usize| s as isize;
    // SAFETY: `View::new`/`ViewMut::new` checked that each view's shape and strides stay
    // inside its slice, the assertion above that the shapes agree (so `gemm` reaches exactly
    // those elements), and `dst` is an exclusive borrow, disjoint from `lhs` and `rhs`.
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            lhs.cols,
            dst.data.as_mut_ptr(),
            stride(dst.col_stride),
            stride(dst.row_stride),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.col_stride),
            stride(lhs.row_stride),
            rhs.data.as_ptr(),
            stride(rhs.col_stride),
            stride(rhs.row_stride),
            1.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook triple loop, for comparison.
    fn naive(lhs: &[f32], rhs: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| lhs[i * k + p] * rhs[p * n + j]).sum();
            }
        }
        out
    }

    fn numbers(count: usize, seed: u32) -> Vec<f32> {
        (0..count)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn a_product_matches_the_triple_loop_also_through_transposed_and_strided_views() {
        let (m, k, n) = (37, 19, 23);
        let lhs = numbers(m * k, 1);
        let rhs = numbers(k * n, 2);
        let expected = naive(&lhs, &rhs, m, k, n);

        let mut plain = vec![0.0; m * n];
        product(ViewMut::rows(&mut plain, n), View::rows(&lhs, k), View::rows(&rhs, n), 1.0, false);
        // rhs given as its transpose (n × k, row-major), read column-wise.
        let transposed: Vec<f32> =
            (0..n).flat_map(|j| (0..k).map(move |p| (j, p))).map(|(j, p)| rhs[p * n + j]).collect();
        let mut through_transpose = vec![1.0; m * n];
        product(
            ViewMut::rows(&mut through_transpose, n),
            View::rows(&lhs, k),
            View::new(&transposed, k, n, 1, k),
            1.0,
            false,
        );
        // Accumulating twice the product onto a copy of it gives three times it.
        let mut accumulated = expected.clone();
        product(ViewMut::rows(&mut accumulated, n), View::rows(&lhs, k), View::rows(&rhs, n), 2.0, true);

        for i in 0..m * n {
            assert!((plain[i] - expected[i]).abs() < 1e-4, "plain {i}: {} vs {}", plain[i], expected[i]);
            assert!((through_transpose[i] - expected[i]).abs() < 1e-4, "transposed {i}");
            assert!((accumulated[i] - 3.0 * expected[i]).abs() < 1e-3, "accumulated {i}");
        }
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn a_view_past_its_slice_is_refused() {
        let data = [0.0; 10];
        let _ = View::new(&data, 3, 4, 4, 1);
    }

    #[test]
    #[should_panic(expected = "shapes disagree")]
    fn disagreeing_shapes_are_refused() {
        let a = [0.0; 6];
        let mut out = [0.0; 4];
        product(ViewMut::rows(&mut out, 2), View::rows(&a, 3), View::rows(&a, 3), 1.0, false);
    }
}
