//! Isotonic regression by pool-adjacent-violators (PAV), used to calibrate scores when there
//! are thousands of resolved deals.
//!
//! Finds the non-decreasing step function `f` minimising `sum_i w_i (y_i - f(x_i))^2`
//! (Barlow et al., *Statistical Inference under Order Restrictions*, 1972; Ayer et al. 1955).
//! Points with equal `x` are pooled first, so ties cannot be split. Prediction interpolates
//! linearly between the blocks' weighted mean `x` and is flat beyond the ends.

/// A fitted isotonic map.
#[derive(Debug, Clone, PartialEq)]
pub struct Isotonic {
    /// Weighted mean `x` of each block, increasing.
    pub xs: Vec<f64>,
    /// Fitted value of each block, non-decreasing.
    pub ys: Vec<f64>,
    /// Total weight of each block.
    pub weights: Vec<f64>,
}

impl Isotonic {
    /// Fits on `(x, y, weight)` points in any order. Returns `None` for no points.
    pub fn fit(points: &[(f64, f64, f64)]) -> Option<Isotonic> {
        let mut pts: Vec<(f64, f64, f64)> = points
            .iter()
            .copied()
            .filter(|p| p.2 > 0.0 && p.0.is_finite())
            .collect();
        if pts.is_empty() {
            return None;
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        // Blocks: (sum w*x, sum w*y, sum w).
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        let mut last_x = f64::NAN;
        for (x, y, w) in pts {
            // A repeated x joins the last block (which holds the previous point).
            match blocks.last_mut() {
                Some(b) if x == last_x => {
                    b.0 += w * x;
                    b.1 += w * y;
                    b.2 += w;
                }
                _ => {
                    blocks.push((w * x, w * y, w));
                    last_x = x;
                }
            }
            // Pool while the last two blocks violate the order.
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (a, b) = (blocks[n - 2], blocks[n - 1]);
                if a.1 / a.2 > b.1 / b.2 {
                    blocks[n - 2] = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
                    blocks.pop();
                } else {
                    break;
                }
            }
        }
        Some(Isotonic {
            xs: blocks.iter().map(|b| b.0 / b.2).collect(),
            ys: blocks.iter().map(|b| b.1 / b.2).collect(),
            weights: blocks.iter().map(|b| b.2).collect(),
        })
    }

    /// The calibrated value at `x`.
    pub fn apply(&self, x: f64) -> f64 {
        let n = self.xs.len();
        if x <= self.xs[0] {
            return self.ys[0];
        }
        if x >= self.xs[n - 1] {
            return self.ys[n - 1];
        }
        let i = self.xs.partition_point(|v| *v <= x);
        let (x0, x1, y0, y1) = (self.xs[i - 1], self.xs[i], self.ys[i - 1], self.ys[i]);
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pav_textbook_example() {
        // y = [1, 3, 2, 4, 3, 5] at x = 1..6 (unit weights): PAV pools (3,2) -> 2.5 and
        // (4,3) -> 3.5, giving [1, 2.5, 2.5, 3.5, 3.5, 5].
        let pts: Vec<(f64, f64, f64)> = [1.0, 3.0, 2.0, 4.0, 3.0, 5.0]
            .iter()
            .enumerate()
            .map(|(i, y)| (i as f64 + 1.0, *y, 1.0))
            .collect();
        let iso = Isotonic::fit(&pts).expect("fit");
        assert_eq!(iso.ys, vec![1.0, 2.5, 3.5, 5.0]);
        assert_eq!(iso.xs, vec![1.0, 2.5, 4.5, 6.0]);
        assert_eq!(iso.apply(2.5), 2.5);
        assert_eq!(iso.apply(3.5), 3.0);
        assert_eq!(iso.apply(0.0), 1.0);
        assert_eq!(iso.apply(9.0), 5.0);
    }

    #[test]
    fn ties_are_pooled_and_weights_count() {
        let iso = Isotonic::fit(&[
            (0.5, 1.0, 1.0),
            (0.5, 0.0, 3.0),
            (0.2, 0.0, 1.0),
            (0.9, 1.0, 2.0),
        ])
        .expect("fit");
        assert_eq!(iso.ys, vec![0.0, 0.25, 1.0]);
        assert_eq!(iso.weights, vec![1.0, 4.0, 2.0]);
    }

    #[test]
    fn decreasing_data_pools_to_the_mean() {
        let iso = Isotonic::fit(&[(1.0, 1.0, 1.0), (2.0, 0.0, 1.0), (3.0, 0.0, 2.0)]).expect("fit");
        assert_eq!(iso.ys, vec![0.25]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_fit_is_monotone_and_within_the_data(points in prop::collection::vec((-5.0f64..5.0, 0.0f64..1.0, 0.1f64..3.0), 1..80)) {
            let iso = Isotonic::fit(&points).expect("fit");
            prop_assert!(iso.ys.windows(2).all(|w| w[0] <= w[1] + 1e-12));
            prop_assert!(iso.xs.windows(2).all(|w| w[0] < w[1]));
            let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
            let mut last = f64::MIN;
            for i in 0..=100 {
                let x = -6.0 + 12.0 * i as f64 / 100.0;
                let y = iso.apply(x);
                prop_assert!(y >= lo - 1e-12 && y <= hi + 1e-12);
                prop_assert!(y >= last - 1e-12);
                last = y;
            }
        }
    }
}
