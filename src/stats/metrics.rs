//! Scoring rules and rank statistics for the backtest and the generator checks.

/// Mean squared error of probabilities: `(1/n) sum (p_i - y_i)^2` (Brier, 1950).
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    mean(
        p.iter()
            .zip(y)
            .map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2)),
        p.len(),
    )
}

/// `1 - brier / brier_reference`: above 0 beats the reference.
pub fn brier_skill(brier: f64, reference: f64) -> f64 {
    if reference > 0.0 {
        1.0 - brier / reference
    } else {
        f64::NAN
    }
}

/// Mean negative log-likelihood `-(1/n) sum [y ln p + (1-y) ln(1-p)]`, `p` clipped to
/// `[1e-15, 1 - 1e-15]`.
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    mean(
        p.iter().zip(y).map(|(p, y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if *y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        }),
        p.len(),
    )
}

/// Ranks 1..n with ties given their average rank.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in &idx[i..=j] {
            ranks[*k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Area under the ROC curve by the Mann–Whitney statistic with average ranks, so that a tie
/// between a positive and a negative counts one half:
/// `AUC = (R+ - n+ (n+ + 1) / 2) / (n+ n-)`. `NaN` when one class is absent.
pub fn roc_auc(p: &[f64], y: &[bool]) -> f64 {
    let ranks = average_ranks(p);
    let pos = y.iter().filter(|v| **v).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let r_pos: f64 = ranks
        .iter()
        .zip(y)
        .filter(|(_, y)| **y)
        .map(|(r, _)| r)
        .sum();
    (r_pos - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// `bins` equal-width bins over `[0, 1]` (the last one closed); a probability lands in bin
/// `min(floor(p * bins), bins - 1)`. Empty bins are kept with `count = 0` and `NaN` means.
pub fn reliability_table(p: &[f64], y: &[bool], bins: usize) -> Vec<Bin> {
    let bins = bins.max(1);
    let mut acc = vec![(0usize, 0.0f64, 0.0f64); bins];
    for (p, y) in p.iter().zip(y) {
        let b = ((p * bins as f64).floor() as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += p;
        acc[b].2 += f64::from(u8::from(*y));
    }
    acc.iter()
        .enumerate()
        .map(|(i, (n, sp, sy))| Bin {
            lower: i as f64 / bins as f64,
            upper: (i + 1) as f64 / bins as f64,
            count: *n,
            mean_predicted: if *n > 0 { sp / *n as f64 } else { f64::NAN },
            observed_rate: if *n > 0 { sy / *n as f64 } else { f64::NAN },
        })
        .collect()
}

/// Expected calibration error `sum_b (n_b / n) |mean p_b - mean y_b|` over the bins of
/// [`reliability_table`] (Naeini, Cooper & Hauskrecht, 2015).
pub fn expected_calibration_error(p: &[f64], y: &[bool], bins: usize) -> f64 {
    let n = p.len();
    if n == 0 {
        return f64::NAN;
    }
    reliability_table(p, y, bins)
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| b.count as f64 / n as f64 * (b.mean_predicted - b.observed_rate).abs())
        .sum()
}

/// Spearman's rank correlation: Pearson's correlation of the average ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&average_ranks(a), &average_ranks(b))
}

/// Pearson's correlation coefficient; `NaN` when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let ma = a[..n].iter().sum::<f64>() / n as f64;
    let mb = b[..n].iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma).powi(2);
        sbb += (b[i] - mb).powi(2);
    }
    sab / (saa * sbb).sqrt()
}

fn mean(it: impl Iterator<Item = f64>, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        it.sum::<f64>() / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brier_and_log_loss_by_hand() {
        let p = [0.9, 0.2, 0.5];
        let y = [true, false, true];
        // (0.01 + 0.04 + 0.25) / 3 = 0.1
        assert!((brier(&p, &y) - 0.1).abs() < 1e-12);
        // -(ln 0.9 + ln 0.8 + ln 0.5) / 3
        let want = -(0.9f64.ln() + 0.8f64.ln() + 0.5f64.ln()) / 3.0;
        assert!((log_loss(&p, &y) - want).abs() < 1e-12);
        assert!((brier_skill(0.1, 0.25) - 0.6).abs() < 1e-12);
        assert!(log_loss(&[1.0], &[false]).is_finite());
    }

    #[test]
    fn auc_with_ties() {
        // Positives 0.8, 0.5; negatives 0.5, 0.2. Pairs: (0.8>0.5) 1, (0.8>0.2) 1,
        // (0.5=0.5) 1/2, (0.5>0.2) 1  => 3.5 / 4.
        let auc = roc_auc(&[0.8, 0.5, 0.5, 0.2], &[true, true, false, false]);
        assert!((auc - 0.875).abs() < 1e-12, "{auc}");
        assert!((roc_auc(&[0.3; 4], &[true, false, true, false]) - 0.5).abs() < 1e-12);
        assert!(roc_auc(&[0.3, 0.4], &[true, true]).is_nan());
    }

    #[test]
    fn calibration_table_and_ece() {
        let p = [0.05, 0.15, 0.15, 0.95, 1.0];
        let y = [false, false, true, true, true];
        let t = reliability_table(&p, &y, 10);
        assert_eq!(t[0].count, 1);
        assert_eq!(t[1].count, 2);
        assert_eq!(t[9].count, 2, "1.0 lands in the last bin");
        assert!((t[1].observed_rate - 0.5).abs() < 1e-12);
        // |0.05-0|*1 + |0.15-0.5|*2 + |0.975-1|*2, over 5
        let want = (0.05 + 0.7 + 0.05) / 5.0;
        assert!((expected_calibration_error(&p, &y, 10) - want).abs() < 1e-12);
    }

    #[test]
    fn spearman_is_rank_based() {
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 1000.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(average_ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn scores_stay_in_range(pairs in prop::collection::vec((0.0f64..=1.0, any::<bool>()), 1..200)) {
            let (p, y): (Vec<f64>, Vec<bool>) = pairs.into_iter().unzip();
            let b = brier(&p, &y);
            prop_assert!((0.0..=1.0).contains(&b));
            prop_assert!(log_loss(&p, &y) >= 0.0);
            let e = expected_calibration_error(&p, &y, 10);
            prop_assert!((0.0..=1.0).contains(&e));
            let auc = roc_auc(&p, &y);
            prop_assert!(auc.is_nan() || (0.0..=1.0).contains(&auc));
            let t = reliability_table(&p, &y, 10);
            prop_assert_eq!(t.iter().map(|b| b.count).sum::<usize>(), p.len());
        }
    }
}
