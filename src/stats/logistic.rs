//! L2-regularised logistic regression by iteratively reweighted least squares (Newton's
//! method), and Platt scaling on top of it.
//!
//! Minimises `-sum_i w_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)] + (lambda / 2) sum_{j>=1} b_j^2`
//! with `p_i = 1 / (1 + exp(-x_i . b))`; column 0 is the intercept and is not penalised.
//! Each Newton step solves `(X^T W X + lambda I') d = X^T w (y - p) - lambda I' b` by Cholesky
//! (Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed., §4.4.1).
//! `y` may be fractional (Platt's smoothed targets).

use super::linalg::{cholesky_solve, spd_inverse};

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    /// Coefficients, intercept first.
    pub coef: Vec<f64>,
    /// `(X^T W X + lambda I')^{-1}` at the optimum: the approximate posterior covariance of the
    /// coefficients, for likelihood bands. Row-major.
    pub covariance: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(p / (1 - p))`, with `p` clipped to `[1e-9, 1 - 1e-9]`.
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// The penalised log-likelihood `Σ w (y z − ln(1 + e^z)) − λ/2 Σ_{j>0} b_j²`. Leaves each
/// row's `z = x · b` and `e^{−|z|}` in `z_exp`, from which the next Newton step's
/// probabilities follow without a second pass over `x` (to the bit what [`sigmoid`] gives).
fn objective(
    x: &[f64],
    d: usize,
    y: &[f64],
    weights: Option<&[f64]>,
    lambda: f64,
    coef: &[f64],
    z_exp: &mut [(f64, f64)],
) -> f64 {
    let mut ll = 0.0;
    for (i, (yi, out)) in y.iter().zip(z_exp.iter_mut()).enumerate() {
        let row = &x[i * d..(i + 1) * d];
        let z: f64 = row.iter().zip(coef).map(|(a, b)| a * b).sum();
        // `ln(1 + e^z)` without overflow: `max(z, 0) + ln(1 + e^{−|z|})`.
        let e = (-z.abs()).exp();
        *out = (z, e);
        ll += weights.map_or(1.0, |w| w[i]) * (yi * z - (z.max(0.0) + e.ln_1p()));
    }
    ll - 0.5 * lambda * coef[1..].iter().map(|c| c * c).sum::<f64>()
}

/// [`sigmoid`] of `z` from `e = e^{−|z|}`.
fn sigmoid_from(z: f64, e: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// The gradient of the log-likelihood and the lower triangle of `X^T W X` at the rows' `z`
/// and `e^{−|z|}` (`z_exp`), added into `grad` and `hessian` (row-major `d x d`).
fn newton_terms(
    x: &[f64],
    d: usize,
    y: &[f64],
    weights: Option<&[f64]>,
    z_exp: &[(f64, f64)],
    grad: &mut [f64],
    hessian: &mut [f64],
) {
    let n = y.len();
    // Each row's residual and curvature weight.
    let terms = |i: usize| -> (f64, f64) {
        let (z, e) = z_exp[i];
        let p = sigmoid_from(z, e);
        let w = weights.map_or(1.0, |w| w[i]);
        (w * (y[i] - p), w * p * (1.0 - p))
    };
    // Two rows at a time, row by row of the lower triangle, as slices (no bounds checks
    // in the inner loop, so it vectorises): each cell is read and written once for both
    // rows, and still sums their terms one row after the other, in row order (the same
    // bits as row by row; four at a time was no faster).
    let mut i = 0;
    while i + 1 < n {
        let (a, b) = (&x[i * d..(i + 1) * d], &x[(i + 1) * d..(i + 2) * d]);
        let ((ra, va), (rb, vb)) = (terms(i), terms(i + 1));
        for (j, ((g, xa), xb)) in grad.iter_mut().zip(a).zip(b).enumerate() {
            *g = *g + xa * ra + xb * rb;
            let (vaj, vbj) = (va * xa, vb * xb);
            let cells = &mut hessian[j * d..=j * d + j];
            for ((h, ak), bk) in cells.iter_mut().zip(&a[..=j]).zip(&b[..=j]) {
                *h = *h + vaj * ak + vbj * bk;
            }
        }
        i += 2;
    }
    if i < n {
        let row = &x[i * d..(i + 1) * d];
        let (r, v) = terms(i);
        for (j, (g, xj)) in grad.iter_mut().zip(row).enumerate() {
            *g += xj * r;
            let vj = v * xj;
            let cells = &mut hessian[j * d..=j * d + j];
            for (h, xk) in cells.iter_mut().zip(&row[..=j]) {
                *h += vj * xk;
            }
        }
    }
}

/// Fits the model by damped Newton (IRLS) steps. `x` is row-major `n x d` with the intercept
/// column (all ones) first; `weights` default to 1; `lambda` penalises every coefficient but
/// the intercept.
///
/// A full Newton step can overshoot on imbalanced data with high-leverage inputs: the
/// fitted probabilities all reach 0 or 1, the curvature vanishes and the next step throws
/// the intercept to ±10¹⁴. So each step is halved until the penalised log-likelihood does
/// not fall (it is concave, so a small enough step always gains): every iterate is better
/// than the last, and the fit is `converged` only when a step no longer moves it.
///
/// Returns `None` when the inputs are inconsistent or the Hessian is singular (e.g. a
/// constant feature with `lambda = 0`).
pub fn fit(
    x: &[f64],
    d: usize,
    y: &[f64],
    weights: Option<&[f64]>,
    lambda: f64,
) -> Option<LogisticFit> {
    fit_from(x, d, y, weights, lambda, None)
}

/// [`fit`] started from `start` (e.g. the fit on all rows, for a fit on most of them): the
/// optimum is the same, reached in fewer steps.
pub fn fit_from(
    x: &[f64],
    d: usize,
    y: &[f64],
    weights: Option<&[f64]>,
    lambda: f64,
    start: Option<&[f64]>,
) -> Option<LogisticFit> {
    let n = y.len();
    if d == 0 || x.len() != n * d || weights.is_some_and(|w| w.len() != n) {
        return None;
    }
    let mut coef = vec![0.0; d];
    // Start the intercept at the weighted base rate: fewer steps, and stable.
    let (sw, swy) = (0..n).fold((0.0, 0.0), |(a, b), i| {
        let w = weights.map_or(1.0, |w| w[i]);
        (a + w, b + w * y[i])
    });
    if sw <= 0.0 {
        return None;
    }
    coef[0] = logit(swy / sw);
    if let Some(start) = start.filter(|s| s.len() == d && s.iter().all(|c| c.is_finite())) {
        coef.copy_from_slice(start);
    }
    // Each row's `z` and `e^{−|z|}` at `coef`, and at the step being tried.
    let mut z_exp = vec![(0.0, 0.0); n];
    let mut trial_z_exp = vec![(0.0, 0.0); n];
    let mut current = objective(x, d, y, weights, lambda, &coef, &mut z_exp);
    let mut iterations = 0;
    let mut converged = false;
    let mut hessian = vec![0.0; d * d];
    for it in 0..200 {
        iterations = it + 1;
        let mut grad = vec![0.0; d];
        hessian.iter_mut().for_each(|h| *h = 0.0);
        newton_terms(x, d, y, weights, &z_exp, &mut grad, &mut hessian);
        for j in 0..d {
            for k in 0..j {
                hessian[k * d + j] = hessian[j * d + k];
            }
            if j > 0 {
                hessian[j * d + j] += lambda;
                grad[j] -= lambda * coef[j];
            }
        }
        // A vanishing curvature on the intercept (all p at 0 or 1) still needs a solvable system.
        hessian[0] += 1e-12;
        let step = cholesky_solve(&hessian, &grad)?;
        // Step halving: the largest of 1, 1/2, 1/4, … that does not lower the objective.
        let mut t = 1.0;
        let mut accepted = None;
        while t > 1e-10 {
            let trial: Vec<f64> = coef.iter().zip(&step).map(|(c, s)| c + t * s).collect();
            let value = objective(x, d, y, weights, lambda, &trial, &mut trial_z_exp);
            if value.is_finite() && value >= current - 1e-12 * current.abs().max(1.0) {
                std::mem::swap(&mut z_exp, &mut trial_z_exp);
                accepted = Some((trial, value));
                break;
            }
            t *= 0.5;
        }
        let Some((next, value)) = accepted else {
            // No step gains: the gradient is zero to working precision.
            converged = true;
            break;
        };
        let max_step = next
            .iter()
            .zip(&coef)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        coef = next;
        current = value;
        if !coef.iter().all(|c| c.is_finite()) {
            return None;
        }
        if max_step < 1e-9 {
            converged = true;
            break;
        }
    }
    let covariance = spd_inverse(&hessian, d)?;
    Some(LogisticFit {
        coef,
        covariance,
        iterations,
        converged,
    })
}

impl LogisticFit {
    /// The linear predictor `x . b` of one row (intercept column included).
    pub fn linear(&self, row: &[f64]) -> f64 {
        row.iter().zip(&self.coef).map(|(a, b)| a * b).sum()
    }

    /// `sqrt(x^T C x)`: the standard error of the linear predictor.
    pub fn linear_se(&self, row: &[f64]) -> f64 {
        let d = self.coef.len();
        let mut s = 0.0;
        for j in 0..d {
            for k in 0..d {
                s += row[j] * self.covariance[j * d + k] * row[k];
            }
        }
        s.max(0.0).sqrt()
    }
}

/// Platt scaling: `p = sigmoid(a s + b)` fitted on scores `s` with Platt's smoothed targets
/// `(N+ + 1) / (N+ + 2)` and `1 / (N- + 2)` (J. Platt, "Probabilistic outputs for support
/// vector machines", 1999), which keep the map from overfitting small samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    pub fn fit(scores: &[f64], labels: &[bool]) -> Option<Platt> {
        let pos = labels.iter().filter(|l| **l).count() as f64;
        let neg = labels.len() as f64 - pos;
        let hi = (pos + 1.0) / (pos + 2.0);
        let lo = 1.0 / (neg + 2.0);
        let x: Vec<f64> = scores.iter().flat_map(|s| [1.0, *s]).collect();
        let y: Vec<f64> = labels.iter().map(|l| if *l { hi } else { lo }).collect();
        let f = fit(&x, 2, &y, None, 0.0)?;
        Some(Platt {
            a: f.coef[1],
            b: f.coef[0],
        })
    }

    pub fn apply(&self, score: f64) -> f64 {
        sigmoid(self.a * score + self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probability_from_the_objectives_exponential_is_the_sigmoid_to_the_bit() {
        for z in [
            0.0, -0.0, 1e-300, -1e-300, 0.3, -0.3, 7.5, -7.5, 40.0, -40.0, 800.0, -800.0,
        ] {
            let e = (-f64::abs(z)).exp();
            assert_eq!(
                sigmoid_from(z, e).to_bits(),
                sigmoid(z).to_bits(),
                "z = {z}"
            );
        }
    }

    /// The Newton terms summed one row after the other, as they were before rows were paired.
    fn newton_terms_row_by_row(
        x: &[f64],
        d: usize,
        y: &[f64],
        weights: Option<&[f64]>,
        z_exp: &[(f64, f64)],
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut grad, mut hessian) = (vec![0.0; d], vec![0.0; d * d]);
        for i in 0..y.len() {
            let row = &x[i * d..(i + 1) * d];
            let (z, e) = z_exp[i];
            let p = sigmoid_from(z, e);
            let w = weights.map_or(1.0, |w| w[i]);
            let (r, v) = (w * (y[i] - p), w * p * (1.0 - p));
            for j in 0..d {
                grad[j] += row[j] * r;
                for k in 0..=j {
                    hessian[j * d + k] += v * row[j] * row[k];
                }
            }
        }
        (grad, hessian)
    }

    proptest::proptest! {
        #[test]
        fn paired_rows_sum_the_newton_terms_to_the_bit(
            n in 0usize..12,
            d in 1usize..6,
            seed in proptest::collection::vec(-3.0f64..3.0, 12 * 6 + 12 * 3),
            weighted in proptest::bool::ANY,
        ) {
            let x: Vec<f64> = seed[..n * d].to_vec();
            let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from(seed[72 + i] > 0.0))).collect();
            let w: Vec<f64> = (0..n).map(|i| seed[84 + i].abs()).collect();
            let weights = weighted.then_some(w.as_slice());
            let z_exp: Vec<(f64, f64)> = (0..n)
                .map(|i| (seed[96 + i], (-seed[96 + i].abs()).exp()))
                .collect();
            let (mut grad, mut hessian) = (vec![0.0; d], vec![0.0; d * d]);
            newton_terms(&x, d, &y, weights, &z_exp, &mut grad, &mut hessian);
            let (g0, h0) = newton_terms_row_by_row(&x, d, &y, weights, &z_exp);
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&grad), bits(&g0));
            proptest::prop_assert_eq!(bits(&hessian), bits(&h0));
        }
    }

    #[test]
    fn one_binary_feature_matches_closed_form() {
        // Unpenalised logistic regression on one binary feature reproduces the two group
        // rates exactly: x=0 -> 1/4 hits, x=1 -> 3/4 hits.
        // Intercept = logit(1/4) = -ln 3, slope = logit(3/4) - logit(1/4) = 2 ln 3.
        let rows = [
            (0.0, 1.0),
            (0.0, 0.0),
            (0.0, 0.0),
            (0.0, 0.0),
            (1.0, 1.0),
            (1.0, 1.0),
            (1.0, 1.0),
            (1.0, 0.0),
        ];
        let x: Vec<f64> = rows.iter().flat_map(|(f, _)| [1.0, *f]).collect();
        let y: Vec<f64> = rows.iter().map(|(_, y)| *y).collect();
        let f = fit(&x, 2, &y, None, 0.0).expect("fit");
        assert!(f.converged);
        assert!((f.coef[0] + 3f64.ln()).abs() < 1e-8, "{:?}", f.coef);
        assert!((f.coef[1] - 2.0 * 3f64.ln()).abs() < 1e-8, "{:?}", f.coef);
        // Standard error of the slope: sqrt(1/(n p q) for each group, summed) = sqrt(2 * 16/12).
        let se = f.covariance[3].sqrt();
        assert!((se - (2.0f64 * 4.0 / 3.0).sqrt()).abs() < 1e-6, "{se}");
    }

    #[test]
    fn ridge_keeps_separable_data_finite_and_shrinks() {
        let x: Vec<f64> = [-2.0, -1.0, 1.0, 2.0]
            .iter()
            .flat_map(|v| [1.0, *v])
            .collect();
        let y = [0.0, 0.0, 1.0, 1.0];
        assert!(fit(&x, 2, &y, None, 0.0).is_none_or(|f| !f.converged || f.coef[1] > 10.0));
        let strong = fit(&x, 2, &y, None, 10.0).expect("fit");
        let weak = fit(&x, 2, &y, None, 0.1).expect("fit");
        assert!(strong.converged && weak.converged);
        assert!(0.0 < strong.coef[1] && strong.coef[1] < weak.coef[1]);
        assert!(strong.coef[0].abs() < 1e-9, "symmetric data: intercept 0");
    }

    /// Rows that overshoot a full Newton step: few positives, a rare input that only
    /// positives have, one row thirty units out.
    fn high_leverage_rows() -> (Vec<f64>, Vec<f64>) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..400 {
            let positive = i % 33 == 0;
            let rare = if i < 66 && positive { 1.0 } else { 0.0 };
            let far = if i == 7 {
                30.0
            } else {
                ((i * 37) % 11) as f64 / 11.0 - 0.5
            };
            x.extend([1.0, rare, far]);
            y.push(f64::from(u8::from(positive)));
        }
        (x, y)
    }

    #[test]
    fn damped_newton_converges_to_the_optimum_on_high_leverage_rows() {
        let (x, y) = high_leverage_rows();
        let f = fit(&x, 3, &y, None, 1.0).expect("fit");
        assert!(f.converged, "{f:?}");
        assert!(f.coef.iter().all(|c| c.abs() < 20.0), "{:?}", f.coef);
        // The optimum of a concave objective: no coordinate move of 1e-4 improves it.
        let at = objective(
            &x,
            3,
            &y,
            None,
            1.0,
            &f.coef,
            &mut vec![(0.0, 0.0); y.len()],
        );
        for j in 0..3 {
            for h in [-1e-4, 1e-4] {
                let mut c = f.coef.clone();
                c[j] += h;
                assert!(
                    objective(&x, 3, &y, None, 1.0, &c, &mut vec![(0.0, 0.0); y.len()])
                        <= at + 1e-12,
                    "coordinate {j}"
                );
            }
        }
        // The base-rate start is worse.
        let start = [logit(12.0 / 400.0), 0.0, 0.0];
        assert!(objective(&x, 3, &y, None, 1.0, &start, &mut vec![(0.0, 0.0); y.len()]) < at);
    }

    #[test]
    fn objective_is_the_penalised_log_likelihood() {
        // Two rows, z = 0 and z = 1: ln(1/2) + (1 - ln(1 + e)); penalty 0.5 * 2 * 1^2.
        let x = [1.0, 0.0, 1.0, 1.0];
        let y = [0.0, 1.0];
        let v = objective(
            &x,
            2,
            &y,
            None,
            2.0,
            &[0.0, 1.0],
            &mut vec![(0.0, 0.0); y.len()],
        );
        let want = (0.5f64).ln() + 1.0 - (1.0 + 1f64.exp()).ln() - 1.0;
        assert!((v - want).abs() < 1e-12, "{v} {want}");
    }

    #[test]
    fn platt_is_monotone_and_uses_smoothed_targets() {
        let scores = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0];
        let labels = [false, false, true, false, true, true];
        let p = Platt::fit(&scores, &labels).expect("fit");
        assert!(p.a > 0.0);
        assert!(p.apply(-5.0) > 0.0 && p.apply(5.0) < 1.0);
        assert!(p.apply(0.0) < p.apply(1.0));
    }
}
