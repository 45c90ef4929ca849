//! Empirical-Bayes Beta-Binomial shrinkage.
//!
//! Each group (a source, a club, …) has `hits` out of `trials` resolved stories. The groups'
//! true rates are modelled as draws from a common `Beta(alpha, beta)` prior, fitted by maximum
//! marginal likelihood over all groups; a group's estimate is then its posterior
//! `Beta(alpha + hits, beta + trials - hits)`: a thin record is pulled towards the crowd, a
//! long one speaks for itself. Counts may be fractional (time-decayed weights).

use statrs::distribution::{Beta, ContinuousCDF};
use statrs::function::beta::ln_beta;
use statrs::function::gamma::{digamma, ln_gamma};

/// How the prior was obtained.
#[derive(Debug, Clone, PartialEq)]
pub enum PriorMethod {
    /// Maximum marginal likelihood over this many groups.
    Fitted { groups: usize, iterations: usize },
    /// Too few groups (or a degenerate fit): pooled rate with a fixed strength.
    Fallback { reason: String },
}

/// A Beta prior over group rates.
#[derive(Debug, Clone, PartialEq)]
pub struct BetaPrior {
    pub alpha: f64,
    pub beta: f64,
    pub method: PriorMethod,
}

impl BetaPrior {
    /// Prior mean `alpha / (alpha + beta)`.
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// Prior strength `alpha + beta`, in "stories' worth" of evidence.
    pub fn strength(&self) -> f64 {
        self.alpha + self.beta
    }

    /// A short description for the run summary.
    pub fn describe(&self) -> String {
        match &self.method {
            PriorMethod::Fitted { groups, .. } => format!("fitted on {groups} groups"),
            PriorMethod::Fallback { reason } => format!("fallback: {reason}"),
        }
    }
}

/// Options of [`fit_prior`].
#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    /// Fewer groups with `trials > 0` than this: fallback prior.
    pub min_groups: usize,
    /// Strength of the fallback prior.
    pub fallback_strength: f64,
    /// Cap on the fitted strength `alpha + beta`.
    pub max_strength: f64,
    /// Floor on the fitted strength `alpha + beta`.
    pub min_strength: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            min_groups: 5,
            fallback_strength: 2.0,
            max_strength: 1000.0,
            min_strength: 2.0,
        }
    }
}

/// Log marginal likelihood of `Beta(alpha, beta)` for groups `(hits, trials)`, without the
/// binomial coefficients (constant in the parameters):
/// `sum_i ln B(k_i + a, n_i - k_i + b) - ln B(a, b)`.
pub fn log_marginal_likelihood(groups: &[(f64, f64)], alpha: f64, beta: f64) -> f64 {
    let lb = ln_beta(alpha, beta);
    groups
        .iter()
        .filter(|(_, n)| *n > 0.0)
        .map(|(k, n)| ln_beta(k + alpha, n - k + beta) - lb)
        .sum()
}

/// Fits the prior by maximum marginal likelihood.
///
/// The log marginal likelihood `L(a, b)` ([`log_marginal_likelihood`]) is maximised over
/// `(ln a, ln b)` by Newton's method with a backtracking line search. The gradient is exact,
/// `dL/da = sum_i [psi(k_i + a) - psi(n_i + a + b) - psi(a) + psi(a + b)]` (and likewise for
/// `b` with `n_i - k_i`; Minka, "Estimating a Dirichlet distribution", 2000, eq. 53); the
/// Hessian is its central finite difference. The start is the method of moments. When the
/// groups vary no more than binomial noise, `L` keeps rising as `a + b` grows; the strength is
/// capped at `max_strength` (the point is projected back onto the cap, keeping its mean).
/// When every group is all hits or all misses (thin records), `L` rises instead as `a + b`
/// shrinks towards 0, a prior that shrinks nothing and gives a one-story group a rate of
/// exactly 0 or 1 with an interval of zero width: the strength is floored at `min_strength`
/// the same way.
///
/// Fallback (documented in README): with fewer than `min_groups` groups that have data, or a
/// fit that does not produce finite values, the prior is centred on the pooled rate
/// `(sum k + 0.5) / (sum n + 1)` with strength `fallback_strength`; with no data at all it is
/// `Beta(1, 1)` scaled to that strength.
pub fn fit_prior(groups: &[(f64, f64)], opts: FitOptions) -> BetaPrior {
    fit_prior_from(groups, opts, None)
}

/// [`fit_prior`] started from a previous fit `(a, b)` (a warm start; the optimum is the same).
pub fn fit_prior_from(
    groups: &[(f64, f64)],
    opts: FitOptions,
    start: Option<(f64, f64)>,
) -> BetaPrior {
    fit_prior_towards(groups, opts, start, None)
}

/// [`fit_prior_from`] whose fallback is centred on `centre` when given: mean
/// `(sum k + s centre) / (sum n + s)` with `s = fallback_strength`, so that a family of
/// groups with too little data (a wording stage few sources reached) is pooled with its
/// siblings (`centre` is their pooled rate) instead of being centred on one half.
pub fn fit_prior_towards(
    groups: &[(f64, f64)],
    opts: FitOptions,
    start: Option<(f64, f64)>,
    centre: Option<f64>,
) -> BetaPrior {
    let data = usable(groups);
    fit_counts(&GroupCounts::of(&data), opts, start, centre, &|| {
        data.clone()
    })
}

/// The groups a fit reads: those with `n > 0` and finite counts, `k` clamped to `[0, n]`.
pub fn usable(groups: &[(f64, f64)]) -> Vec<(f64, f64)> {
    groups
        .iter()
        .copied()
        .filter(|(k, n)| *n > 0.0 && k.is_finite() && n.is_finite())
        .map(|(k, n)| (k.clamp(0.0, n), n))
        .collect()
}

/// What a fit reads of its groups' records (all [`usable`]): the distinct `(k, n)` in
/// `(k, n)` order with how many groups have each, the number of groups and the totals.
/// Groups with the same record add the same terms to the likelihood, so each distinct record
/// is evaluated once (thousands of thin sources share a handful).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCounts {
    pub distinct: Vec<(f64, f64, f64)>,
    pub groups: usize,
    pub total_k: f64,
    pub total_n: f64,
}

impl GroupCounts {
    /// The counts of usable groups `data`; totals summed in the order given.
    pub fn of(data: &[(f64, f64)]) -> GroupCounts {
        let mut distinct: Vec<(f64, f64, f64)> = Vec::with_capacity(data.len());
        let mut sorted = data.to_vec();
        sorted.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
        for (k, n) in sorted {
            match distinct.last_mut() {
                Some(last) if last.0 == k && last.1 == n => last.2 += 1.0,
                _ => distinct.push((k, n, 1.0)),
            }
        }
        GroupCounts {
            distinct,
            groups: data.len(),
            total_k: data.iter().map(|g| g.0).sum(),
            total_n: data.iter().map(|g| g.1).sum(),
        }
    }
}

/// [`fit_prior_towards`] from the groups' [`GroupCounts`]. `data` gives the usable groups
/// themselves, in their order; it is called only when there is no usable `start`, for the
/// method of moments.
pub fn fit_counts(
    counts: &GroupCounts,
    opts: FitOptions,
    start: Option<(f64, f64)>,
    centre: Option<f64>,
    data: &dyn Fn() -> Vec<(f64, f64)>,
) -> BetaPrior {
    let (total_k, total_n) = (counts.total_k, counts.total_n);
    let fallback = |reason: String| {
        let s = opts.fallback_strength;
        let mean = match centre {
            Some(c) if c > 0.0 && c < 1.0 && s > 0.0 => (total_k + s * c) / (total_n + s),
            _ => (total_k + 0.5) / (total_n + 1.0),
        };
        BetaPrior {
            alpha: mean * s,
            beta: (1.0 - mean) * s,
            method: PriorMethod::Fallback { reason },
        }
    };
    if counts.groups < opts.min_groups.max(2) {
        return fallback(format!(
            "{} group(s) with resolved stories, fewer than {}",
            counts.groups,
            opts.min_groups.max(2)
        ));
    }
    if total_k <= 0.0 || total_k >= total_n {
        return fallback("every resolved story has the same outcome".into());
    }
    let m = total_k / total_n;
    let lo_strength = opts.min_strength.clamp(0.0, opts.max_strength);
    let (a0, b0) = match start {
        Some((a, b)) if a > 0.0 && b > 0.0 && (a + b).is_finite() => (a, b),
        _ => {
            // Method of moments on the group rates.
            let rates: Vec<f64> = data().iter().map(|(k, n)| k / n).collect();
            let var = rates.iter().map(|r| (r - m).powi(2)).sum::<f64>() / rates.len() as f64;
            let s = if var > 0.0 {
                (m * (1.0 - m) / var - 1.0).clamp(lo_strength, opts.max_strength)
            } else {
                opts.max_strength
            };
            (m * s, (1.0 - m) * s)
        }
    };
    let cap = |u: f64, v: f64| -> (f64, f64) {
        let (a, b) = (u.exp(), v.exp());
        let s = (a + b).clamp(lo_strength, opts.max_strength);
        if s != a + b {
            let scale = s / (a + b);
            ((a * scale).ln(), (b * scale).ln())
        } else {
            (u, v)
        }
    };
    let marginal = Marginal::new(&counts.distinct, counts.groups as f64);
    let (u, v, iterations) = maximise(&marginal, cap(a0.max(1e-3).ln(), b0.max(1e-3).ln()), &cap);
    let (a, b) = (u.exp(), v.exp());
    if !(a.is_finite() && b.is_finite() && a + b > 0.0) {
        return fallback("the marginal-likelihood fit did not converge".into());
    }
    BetaPrior {
        alpha: a,
        beta: b,
        method: PriorMethod::Fitted {
            groups: counts.groups,
            iterations,
        },
    }
}

/// The log marginal likelihood of the groups under Beta(a, b), in log-parameters `u = ln a`,
/// `v = ln b`: `Σ_g [ln B(k_g + a, n_g − k_g + b) − ln B(a, b)]` (constants dropped).
///
/// Distinct records share their `k`, `n − k` or `n` with many others (hundreds of sources
/// with 0 hits, thousands of records over a few hundred values of each), so the special
/// functions of `k + a`, `n − k + b` and `n + a + b` are computed once per value and read
/// back per record: the same arguments give the same bits, and the terms are summed in the
/// same order as one call per record would (the tests compare to the bit).
struct Marginal<'a> {
    /// Distinct `(k, n, groups)` records ([`GroupCounts`]).
    distinct: &'a [(f64, f64, f64)],
    groups: f64,
    /// The distinct values of `k`, `n − k` and `n` (by their bits), and each record's index
    /// into each.
    ks: Vec<f64>,
    rests: Vec<f64>,
    ns: Vec<f64>,
    at: Vec<[usize; 3]>,
}

/// The distinct values of `values` (equal when their bits are) in first-seen order, and the
/// index of each value among them.
fn distinct_values(values: impl Iterator<Item = f64>) -> (Vec<f64>, Vec<usize>) {
    let mut seen: std::collections::HashMap<u64, usize, foldhash::fast::FixedState> =
        Default::default();
    let mut out = Vec::new();
    let index = values
        .map(|x| {
            *seen.entry(x.to_bits()).or_insert_with(|| {
                out.push(x);
                out.len() - 1
            })
        })
        .collect();
    (out, index)
}

impl<'a> Marginal<'a> {
    fn new(distinct: &'a [(f64, f64, f64)], groups: f64) -> Marginal<'a> {
        let (ks, k_at) = distinct_values(distinct.iter().map(|r| r.0));
        let (rests, rest_at) = distinct_values(distinct.iter().map(|r| r.1 - r.0));
        let (ns, n_at) = distinct_values(distinct.iter().map(|r| r.1));
        let at = (0..distinct.len())
            .map(|i| [k_at[i], rest_at[i], n_at[i]])
            .collect();
        Marginal {
            distinct,
            groups,
            ks,
            rests,
            ns,
            at,
        }
    }

    fn value(&self, u: f64, v: f64) -> f64 {
        let (a, b) = (u.exp(), v.exp());
        let lb = ln_beta(a, b);
        // `ln B(x, y) = ln Γ(x) + ln Γ(y) − ln Γ(x + y)`, as statrs' `ln_beta` computes it.
        let lk: Vec<f64> = self.ks.iter().map(|k| ln_gamma(k + a)).collect();
        let lr: Vec<f64> = self.rests.iter().map(|r| ln_gamma(r + b)).collect();
        self.distinct
            .iter()
            .zip(&self.at)
            .map(|((k, n, m), [i, j, _])| {
                let (x, y) = (k + a, n - k + b);
                let term = if x > 0.0 && y > 0.0 {
                    lk[*i] + lr[*j] - ln_gamma(x + y)
                } else {
                    // Out of its domain: whatever `ln_beta` does there (it panics).
                    ln_beta(x, y)
                };
                m * term
            })
            .sum::<f64>()
            - self.groups * lb
    }

    /// The gradient in `(u, v)` (`a ∂/∂a`, `b ∂/∂b` of the digamma sums) at the five points
    /// of the Hessian's central differences: `(u, v)`, `(u ± h, v)`, `(u, v ± h)`, in that
    /// order. Each is what a gradient at that one point gives, to the last bit (the same terms
    /// summed in the same order), but the points share their `a` or `b`, and records their
    /// `k`, `n − k` or `n`, so each digamma is computed once per distinct argument.
    fn gradients(&self, u: f64, v: f64, h: f64) -> [(f64, f64); 5] {
        let a = [u.exp(), (u + h).exp(), (u - h).exp()];
        let b = [v.exp(), (v + h).exp(), (v - h).exp()];
        // Point p's (a, b) as indices into `a` and `b`.
        const AT: [(usize, usize); 5] = [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2)];
        let ab = AT.map(|(i, j)| a[i] + b[j]);
        let (pa, pb) = (a.map(digamma), b.map(digamma));
        let pab = ab.map(digamma);
        let dk: Vec<[f64; 3]> = self.ks.iter().map(|k| a.map(|a| digamma(k + a))).collect();
        let dr: Vec<[f64; 3]> = self
            .rests
            .iter()
            .map(|r| b.map(|b| digamma(r + b)))
            .collect();
        let dn: Vec<[f64; 5]> = self.ns.iter().map(|n| ab.map(|s| digamma(n + s))).collect();
        let mut g = [(0.0, 0.0); 5];
        for ((_, _, m), [ki, ri, ni]) in self.distinct.iter().zip(&self.at) {
            let (da, db, dn) = (&dk[*ki], &dr[*ri], &dn[*ni]);
            for (p, &(i, j)) in AT.iter().enumerate() {
                let common = pab[p] - dn[p];
                g[p].0 += m * (da[i] - pa[i] + common);
                g[p].1 += m * (db[j] - pb[j] + common);
            }
        }
        let mut out = [(0.0, 0.0); 5];
        for (p, &(i, j)) in AT.iter().enumerate() {
            out[p] = (a[i] * g[p].0, b[j] * g[p].1);
        }
        out
    }
}

/// Climbs `marginal` from `(u, v)`: Newton steps (Hessian by central differences of the
/// gradient) when it is negative definite, else the gradient; steps capped at 2 and halved
/// until the value does not fall; `cap` keeps the strength in bounds. Returns the point and
/// the iterations used (at most 200).
fn maximise(
    marginal: &Marginal,
    (mut u, mut v): (f64, f64),
    cap: &dyn Fn(f64, f64) -> (f64, f64),
) -> (f64, f64, usize) {
    let objective = |u: f64, v: f64| marginal.value(u, v);
    let mut f = objective(u, v);
    let mut iterations = 0;
    for it in 0..200 {
        iterations = it + 1;
        let h = 1e-4;
        let [(gu, gv), (gu_up, gv_up), (gu_dn, gv_dn), (gu_vu, gv_vu), (gu_vd, gv_vd)] =
            marginal.gradients(u, v, h);
        let huu = (gu_up - gu_dn) / (2.0 * h);
        let hvv = (gv_vu - gv_vd) / (2.0 * h);
        let huv = 0.5 * ((gv_up - gv_dn) / (2.0 * h) + (gu_vu - gu_vd) / (2.0 * h));
        let det = huu * hvv - huv * huv;
        // Newton direction when the Hessian is negative definite, else the gradient.
        let (mut du, mut dv) = if huu < 0.0 && det > 0.0 {
            (-(hvv * gu - huv * gv) / det, -(huu * gv - huv * gu) / det)
        } else {
            (gu, gv)
        };
        let norm = du.abs().max(dv.abs());
        if norm > 2.0 {
            du *= 2.0 / norm;
            dv *= 2.0 / norm;
        }
        let mut step = 1.0;
        let mut moved = false;
        for _ in 0..40 {
            let (nu, nv) = cap(u + step * du, v + step * dv);
            let nf = objective(nu, nv);
            if nf.is_finite() && nf >= f - 1e-12 {
                let change = (nu - u).abs().max((nv - v).abs());
                u = nu;
                v = nv;
                f = nf;
                moved = change > 1e-10;
                break;
            }
            step *= 0.5;
        }
        if !moved {
            break;
        }
    }
    (u, v, iterations)
}

/// A group's posterior summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posterior {
    /// `(alpha + k) / (alpha + beta + n)`
    pub mean: f64,
    /// Lower end of the equal-tailed credible interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The posterior mean alone, `(α + k) / (α + β + n)` (computed as [`posterior`] does, to the
/// last bit), without the quantiles, which cost far more.
pub fn posterior_mean(prior: &BetaPrior, hits: f64, trials: f64) -> f64 {
    let a = prior.alpha + hits.max(0.0);
    let b = prior.beta + (trials - hits).max(0.0);
    a / (a + b)
}

/// Posterior `Beta(alpha + k, beta + n - k)`: its mean and the equal-tailed interval of mass
/// `mass` (quantiles `(1 - mass) / 2` and `(1 + mass) / 2`, from statrs' inverse regularised
/// incomplete beta function).
pub fn posterior(prior: &BetaPrior, hits: f64, trials: f64, mass: f64) -> Posterior {
    let a = prior.alpha + hits.max(0.0);
    let b = prior.beta + (trials - hits).max(0.0);
    let mean = posterior_mean(prior, hits, trials);
    match Beta::new(a, b) {
        Ok(dist) => {
            let tail = (1.0 - mass) / 2.0;
            Posterior {
                mean,
                low: dist.inverse_cdf(tail),
                high: dist.inverse_cdf(1.0 - tail),
            }
        }
        Err(_) => Posterior {
            mean,
            low: mean,
            high: mean,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn fallback_leans_on_the_given_centre() {
        let opts = FitOptions {
            min_groups: 5,
            fallback_strength: 2.0,
            max_strength: 1000.0,
            min_strength: 2.0,
        };
        // One group, 1 of 4: too few groups to fit. Towards 0.3 with strength 2:
        // mean (1 + 2 * 0.3) / (4 + 2) = 1.6 / 6; without a centre (1 + 0.5) / (4 + 1).
        let p = fit_prior_towards(&[(1.0, 4.0)], opts, None, Some(0.3));
        assert!(close(p.mean(), 1.6 / 6.0, 1e-12), "{}", p.mean());
        assert!(close(p.strength(), 2.0, 1e-12));
        let q = fit_prior_towards(&[(1.0, 4.0)], opts, None, None);
        assert!(close(q.mean(), 1.5 / 5.0, 1e-12), "{}", q.mean());
        // No data at all: the centre itself.
        let r = fit_prior_towards(&[], opts, None, Some(0.3));
        assert!(close(r.mean(), 0.3, 1e-12), "{}", r.mean());
    }

    /// The gradient at one point, as the fit computed it before [`Marginal::gradients`].
    fn gradient_at(m: &Marginal, u: f64, v: f64) -> (f64, f64) {
        let (a, b) = (u.exp(), v.exp());
        let ab = a + b;
        let (pa, pb, pab) = (digamma(a), digamma(b), digamma(ab));
        let (mut ga, mut gb) = (0.0, 0.0);
        for (k, n, w) in m.distinct {
            let common = pab - digamma(n + ab);
            ga += w * (digamma(k + a) - pa + common);
            gb += w * (digamma(n - k + b) - pb + common);
        }
        (a * ga, b * gb)
    }

    /// The value as the fit computed it before the per-value tables: `ln_beta` per record.
    fn value_at(m: &Marginal, u: f64, v: f64) -> f64 {
        let (a, b) = (u.exp(), v.exp());
        m.distinct
            .iter()
            .map(|(k, n, w)| w * ln_beta(k + a, n - k + b))
            .sum::<f64>()
            - m.groups * ln_beta(a, b)
    }

    /// Asserts that the five-point gradients at each of `points` are the one-point gradients
    /// of [`gradient_at`], and (when `values`) the value that of [`value_at`], to the bit.
    fn assert_to_the_bit(data: &[(f64, f64)], points: &[(f64, f64)], values: bool) {
        let counts = GroupCounts::of(data);
        let m = Marginal::new(&counts.distinct, counts.groups as f64);
        for &(u, v) in points {
            if values {
                assert_eq!(m.value(u, v).to_bits(), value_at(&m, u, v).to_bits());
            }
            let h = 1e-4;
            let got = m.gradients(u, v, h);
            let want = [
                gradient_at(&m, u, v),
                gradient_at(&m, u + h, v),
                gradient_at(&m, u - h, v),
                gradient_at(&m, u, v + h),
                gradient_at(&m, u, v - h),
            ];
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0.to_bits(), w.0.to_bits(), "{got:?} vs {want:?}");
                assert_eq!(g.1.to_bits(), w.1.to_bits(), "{got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn the_five_point_gradients_are_the_one_point_gradients_to_the_bit() {
        let data = [
            (1.0, 4.0),
            (0.0, 3.0),
            (7.0, 9.0),
            (1.0, 4.0),
            (2.0, 2.0),
            (0.0, 1.0),
        ];
        assert_to_the_bit(&data, &[(0.3, 1.7), (-2.0, 0.1), (4.5, 3.9)], false);
    }

    #[test]
    fn values_and_gradients_from_shared_arguments_are_those_per_record_to_the_bit() {
        // Records that share their k, their n − k or their n, whole and fractional (decayed)
        // counts, and a -0.0 beside a 0.0.
        let mut data = vec![(-0.0, 2.0), (0.0, 2.0), (0.5, 1.5), (2.25, 3.0)];
        for n in 1..40 {
            for k in 0..=n.min(6) {
                data.push((k as f64, n as f64));
                data.push((k as f64 * 0.75, n as f64 * 0.75));
            }
        }
        let counts = GroupCounts::of(&data);
        let m = Marginal::new(&counts.distinct, counts.groups as f64);
        assert!(m.ks.len() < m.distinct.len() && m.ns.len() < m.distinct.len());
        assert_to_the_bit(
            &data,
            &[(0.3, 1.7), (-2.0, 0.1), (4.5, 3.9), (-6.0, 6.0)],
            true,
        );
    }

    #[test]
    fn posterior_of_uniform_prior_by_hand() {
        // Beta(1,1) prior, 3 hits of 4: posterior Beta(4, 2), mean 4/6.
        let prior = BetaPrior {
            alpha: 1.0,
            beta: 1.0,
            method: PriorMethod::Fallback {
                reason: String::new(),
            },
        };
        let p = posterior(&prior, 3.0, 4.0, 0.9);
        assert!(close(p.mean, 4.0 / 6.0, 1e-12));
        // Beta(4,2) CDF is 5x^4 - 4x^5; check the quantiles solve it.
        let cdf = |x: f64| 5.0 * x.powi(4) - 4.0 * x.powi(5);
        assert!(close(cdf(p.low), 0.05, 1e-9), "{}", cdf(p.low));
        assert!(close(cdf(p.high), 0.95, 1e-9), "{}", cdf(p.high));
        assert!(p.low < p.mean && p.mean < p.high);
    }

    #[test]
    fn fit_recovers_overdispersed_prior() {
        // Groups with very different rates: a finite strength, mean near the pooled rate.
        let groups = [
            (2.0, 20.0),
            (18.0, 20.0),
            (10.0, 20.0),
            (5.0, 20.0),
            (15.0, 20.0),
            (9.0, 20.0),
        ];
        let prior = fit_prior(&groups, FitOptions::default());
        assert!(
            matches!(prior.method, PriorMethod::Fitted { groups: 6, .. }),
            "{prior:?}"
        );
        assert!(close(prior.mean(), 59.0 / 120.0, 0.02), "{}", prior.mean());
        assert!(
            prior.strength() > 1.0 && prior.strength() < 20.0,
            "{}",
            prior.strength()
        );
        // It is a maximum: nudging either parameter lowers the marginal likelihood.
        let best = log_marginal_likelihood(&groups, prior.alpha, prior.beta);
        for (da, db) in [(1.05, 1.0), (0.95, 1.0), (1.0, 1.05), (1.0, 0.95)] {
            assert!(
                log_marginal_likelihood(&groups, prior.alpha * da, prior.beta * db) <= best + 1e-9
            );
        }
    }

    #[test]
    fn no_overdispersion_hits_the_strength_cap() {
        let groups = [(5.0, 10.0); 8];
        let prior = fit_prior(
            &groups,
            FitOptions {
                max_strength: 500.0,
                ..FitOptions::default()
            },
        );
        assert!(close(prior.strength(), 500.0, 1e-6), "{}", prior.strength());
        assert!(close(prior.mean(), 0.5, 1e-9));
    }

    #[test]
    fn all_or_nothing_records_hit_the_strength_floor() {
        // Every group is all hits or all misses: the likelihood rises as alpha + beta -> 0.
        let groups = [
            (1.0, 1.0),
            (0.0, 1.0),
            (3.0, 3.0),
            (0.0, 2.0),
            (0.0, 1.0),
            (1.0, 1.0),
        ];
        let prior = fit_prior(&groups, FitOptions::default());
        assert!(matches!(prior.method, PriorMethod::Fitted { .. }));
        assert!(close(prior.strength(), 2.0, 1e-6), "{}", prior.strength());
        // A one-story source is shrunk, and its interval has width.
        let post = posterior(&prior, 1.0, 1.0, 0.9);
        assert!(post.mean < 0.9 && post.high - post.low > 0.3, "{post:?}");
        // Without the floor it would not be.
        let free = fit_prior(
            &groups,
            FitOptions {
                min_strength: 0.0,
                ..FitOptions::default()
            },
        );
        assert!(free.strength() < 0.01, "{}", free.strength());
    }

    #[test]
    fn fallback_with_few_groups() {
        let prior = fit_prior(&[(3.0, 4.0), (1.0, 4.0)], FitOptions::default());
        assert!(matches!(prior.method, PriorMethod::Fallback { .. }));
        assert!(close(prior.mean(), 4.5 / 9.0, 1e-12));
        assert!(close(prior.strength(), 2.0, 1e-12));
        let empty = fit_prior(&[], FitOptions::default());
        assert!(close(empty.alpha, 1.0, 1e-12) && close(empty.beta, 1.0, 1e-12));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn posteriors_are_probabilities_and_intervals_hold_the_mean(
            groups in prop::collection::vec((0u32..60, 0u32..60), 0..12),
            mass in 0.5f64..0.99,
        ) {
            let data: Vec<(f64, f64)> = groups.iter().map(|(k, extra)| (*k as f64, (*k + *extra) as f64)).collect();
            let prior = fit_prior(&data, FitOptions::default());
            prop_assert!(prior.alpha > 0.0 && prior.beta > 0.0 && prior.alpha.is_finite() && prior.beta.is_finite());
            prop_assert!(prior.strength() <= FitOptions::default().max_strength * (1.0 + 1e-9));
            for (k, n) in &data {
                let p = posterior(&prior, *k, *n, mass);
                prop_assert!((0.0..=1.0).contains(&p.low) && (0.0..=1.0).contains(&p.high));
                prop_assert!(p.low <= p.high, "{p:?}");
                // An equal-tailed interval holds the mean unless the posterior piles up at an
                // edge (a shape parameter below 1: the mean can then exceed the 75th
                // percentile, as for Beta(0.14, 7.9) — found by this test).
                if prior.alpha + k >= 1.0 && prior.beta + n - k >= 1.0 {
                    prop_assert!(p.low <= p.mean + 1e-12 && p.mean <= p.high + 1e-12, "{p:?}");
                }
                // Shrinkage: the posterior mean lies between the raw rate and the prior mean.
                if *n > 0.0 {
                    let (raw, pm) = (k / n, prior.mean());
                    prop_assert!(p.mean >= raw.min(pm) - 1e-9 && p.mean <= raw.max(pm) + 1e-9);
                }
            }
        }
    }
}
