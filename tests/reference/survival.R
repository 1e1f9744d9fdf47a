# Reference numbers for ct.survival (src/combotherapy/models/survival.py).
#
# Run from the repository root:  Rscript tests/reference/survival.R
# Writes tests/reference/survival.json (full precision, jsonlite digits = NA).
#
# Datasets: the deterministic fixture tests/reference/data/survival_fixture.csv (four unbalanced arms, tied
# whole-week times, censoring, two subjects without follow-up) and, when present, the sample trial
# data/sample/three_arm.csv.
#
# What is computed, and with what:
#   - Kaplan-Meier per arm: survival::survfit(Surv(time, event) ~ arm) with its defaults (conf.type = "log",
#     conf.int = 0.95, Greenwood variance); median and its CI from summary(fit)$table (survmean's rule: first
#     time the curve / the lower band / the upper band is <= 0.5, averaging when the curve sits exactly at 0.5).
#   - log-rank: survival::survdiff (rho = 0).
#   - Cox: survival::coxph with ties "efron" and "breslow", pushed to convergence (eps 1e-12); hazard ratios for
#     every pair of arms by hand: exp(L b) with se sqrt(L V L'), Wald z.
#   - PH check: survival::cox.zph(fit, transform = "km", terms = FALSE) (score test per coefficient + GLOBAL)
#     and its scaled Schoenfeld residuals.
#   - RMST: survRM2 is NOT available (not packaged in Debian, CRAN unreachable), so the restricted mean is
#     computed here by hand: the area under the KM step function from 0 to tau, with the Greenwood-type variance
#     sum_{t_j <= tau} A_j^2 d_j / (n_j (n_j - d_j)), A_j = area under the KM curve from t_j to tau (the formula of
#     survRM2 and of survival's survmean). It is cross-checked against summary(survfit, rmean = tau)$table
#     (rmean and se(rmean)), and tau defaults to survRM2's choice: the smallest of the arms' largest times.
#     Contrasts: difference with se sqrt(v1 + v2); ratio on the log scale with se sqrt(v1/m1^2 + v2/m2^2).
suppressPackageStartupMessages({library(survival); library(jsonlite)})

arm_levels <- c("control", "physio", "acupuncture", "combined")
# pairs in combotherapy.arms.contrast_pairs order (combined, physio, acupuncture, other, control)
pairs_for <- function(arms) {
  prio <- c(combined = 0, physio = 1, acupuncture = 2, control = 99)
  ranked <- arms[order(prio[arms], match(arms, arms))]
  out <- list()
  for (i in seq_along(ranked)) for (j in seq_along(ranked)) if (j > i) out[[length(out) + 1]] <- c(ranked[i], ranked[j])
  out
}

km_rmst <- function(time, event, tau) {
  # by hand: KM at the distinct times, area to tau and its Greenwood-type variance
  ut <- sort(unique(time))
  n <- sapply(ut, function(t) sum(time >= t))
  d <- sapply(ut, function(t) sum(time == t & event == 1))
  s <- cumprod(1 - d / n)
  keep <- ut <= tau
  tt <- c(0, ut[keep], tau)
  sv <- c(1, s[keep])                      # S on [tt[k], tt[k+1])
  areas <- diff(tt) * sv
  est <- sum(areas)
  after <- rev(cumsum(rev(areas)))[-1]     # area from ut[j] to tau, j over kept times
  h <- ifelse(n[keep] - d[keep] == 0, 0, d[keep] / (n[keep] * (n[keep] - d[keep])))
  list(estimate = est, var = sum(after^2 * h))
}

analyse <- function(path, tau_user) {
  raw <- read.csv(path)
  sub <- raw[!duplicated(raw$subject), ]
  sub <- sub[!(is.na(sub$recovery_time) & is.na(sub$recovered)), ]
  arms <- arm_levels[arm_levels %in% sub$arm]
  sub$arm <- factor(sub$arm, levels = arms)
  sub$time <- sub$recovery_time
  sub$event <- sub$recovered
  out <- list(file = basename(path), md5 = unname(tools::md5sum(path)), arms = arms, n_used = nrow(sub))

  fit <- survfit(Surv(time, event) ~ arm, data = sub)
  tab <- summary(fit)$table
  out$km <- data.frame(arm = arms, n = unname(tab[, "records"]), events = unname(tab[, "events"]),
                       median = unname(tab[, "median"]), ci_low = unname(tab[, "0.95LCL"]),
                       ci_high = unname(tab[, "0.95UCL"]))
  strata <- rep(arms, fit$strata)
  out$km_curves <- data.frame(arm = strata, time = fit$time, n_risk = fit$n.risk, n_events = fit$n.event,
                              n_censored = fit$n.censor, survival = fit$surv, se_log = fit$std.err,
                              ci_low = fit$lower, ci_high = fit$upper)

  sd <- survdiff(Surv(time, event) ~ arm, data = sub)
  df <- length(sd$n) - 1
  out$logrank <- list(statistic = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE),
                      observed = unname(sd$obs), expected = unname(sd$exp))

  prs <- pairs_for(arms)
  for (ties in c("efron", "breslow")) {
    cf <- coxph(Surv(time, event) ~ arm, data = sub, ties = ties,
                control = coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-14))
    b <- coef(cf); V <- vcov(cf)
    hr <- do.call(rbind, lapply(prs, function(p) {
      L <- setNames(numeric(length(b)), names(b))
      if (p[1] != arms[1]) L[paste0("arm", p[1])] <- 1
      if (p[2] != arms[1]) L[paste0("arm", p[2])] <- -1
      est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
      data.frame(contrast = paste(p[1], "-", p[2]), log_estimate = est, se = se, estimate = exp(est),
                 ci_low = exp(est - qnorm(0.975) * se), ci_high = exp(est + qnorm(0.975) * se),
                 statistic = est / se, p = 2 * pnorm(-abs(est / se)))
    }))
    zph <- cox.zph(cf, transform = "km", terms = FALSE)
    zt <- cox.zph(cf, transform = "km", terms = TRUE)
    out[[paste0("cox_", ties)]] <- list(
      coef = unname(b), coef_names = names(b), vcov = unname(V), loglik = cf$loglik,
      hazard_ratios = hr,
      zph = data.frame(term = rownames(zph$table), chisq = unname(zph$table[, "chisq"]),
                       df = unname(zph$table[, "df"]), p = unname(zph$table[, "p"])),
      zph_terms = data.frame(term = rownames(zt$table), chisq = unname(zt$table[, "chisq"]),
                             df = unname(zt$table[, "df"]), p = unname(zt$table[, "p"])),
      zph_x = unname(zph$x), zph_time = unname(zph$time), zph_y = unname(zph$y))
  }

  tau_default <- min(tapply(sub$time, sub$arm, max))
  out$rmst <- list()
  for (tau in unique(c(tau_default, tau_user))) {
    r <- lapply(arms, function(a) km_rmst(sub$time[sub$arm == a], sub$event[sub$arm == a], tau))
    est <- sapply(r, `[[`, "estimate"); v <- sapply(r, `[[`, "var")
    chk <- summary(fit, rmean = tau)$table
    stopifnot(isTRUE(all.equal(unname(chk[, "rmean"]), est, tolerance = 1e-12)),
              isTRUE(all.equal(unname(chk[, "se(rmean)"]), sqrt(v), tolerance = 1e-12)))
    z <- qnorm(0.975)
    per_arm <- data.frame(arm = arms, horizon = tau, estimate = est, se = sqrt(v),
                          ci_low = est - z * sqrt(v), ci_high = est + z * sqrt(v))
    con <- do.call(rbind, lapply(prs, function(p) {
      i <- match(p[1], arms); j <- match(p[2], arms)
      dd <- est[i] - est[j]; se <- sqrt(v[i] + v[j])
      lr <- log(est[i] / est[j]); lse <- sqrt(v[i] / est[i]^2 + v[j] / est[j]^2)
      data.frame(contrast = paste(p[1], "-", p[2]), estimate = dd, se = se, statistic = dd / se,
                 p = 2 * pnorm(-abs(dd / se)), ci_low = dd - z * se, ci_high = dd + z * se,
                 ratio = exp(lr), log_ratio = lr, log_ratio_se = lse, ratio_ci_low = exp(lr - z * lse),
                 ratio_ci_high = exp(lr + z * lse), ratio_p = 2 * pnorm(-abs(lr / lse)))
    }))
    out$rmst[[length(out$rmst) + 1]] <- list(horizon = tau, is_default = tau == tau_default,
                                             per_arm = per_arm, contrasts = con)
  }
  out
}

res <- list(
  generated_by = "tests/reference/survival.R",
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  notes = "survRM2 not available: RMST integrated by hand, cross-checked with summary(survfit, rmean = tau)",
  fixture = analyse("tests/reference/data/survival_fixture.csv", 20)
)
if (file.exists("data/sample/three_arm.csv")) res$sample <- analyse("data/sample/three_arm.csv", 20)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", matrix = "rowmajor"),
           "tests/reference/survival.json")
