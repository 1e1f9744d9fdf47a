# Reference numbers for ct.subgroups (src/combotherapy/models/subgroups.py).
#
# Run from the repository root:  Rscript tests/reference/subgroups.R
# Writes tests/reference/subgroups.json (full precision, jsonlite digits = NA).
#
# For each subgroup variable: value[week 12] ~ arm * level + baseline fitted by lm() on the subjects with a value
# of the variable, after dropping levels in which any arm has fewer than 2 subjects (the package lists those in
# .skipped); contrasts within each level from emmeans(fit, ~ arm | level) with the package's pairs and labels;
# the interaction F test from anova(lm(value ~ arm + level + baseline), fit). The rows "all subjects" are
# lm(value ~ arm + baseline) with emmeans contrasts.
# Cut points (findInterval: a value equal to a cut point goes to the upper group): pain_duration (months) at 3
# (acute / chronic), age (years) at 40 and 60 by default; the factorial case uses age cut at 50 as a user would.
# Data: data/sample/three_arm.csv, data/sample/factorial.csv, tests/reference/data/safety_unbalanced.csv.
suppressPackageStartupMessages({library(jsonlite); library(emmeans)})
emm_options(opt.digits = FALSE)

display <- c("control", "physio", "acupuncture", "combined")
ranked <- c("combined", "physio", "acupuncture", "control")

pairs_for <- function(arms, which) {
  if (which == "combination") return(lapply(intersect(c("physio", "acupuncture"), arms), function(m) c("combined", m)))
  r <- ranked[ranked %in% arms]
  out <- list()
  for (i in seq_along(r)) for (j in seq_along(r)) if (i < j) out[[length(out) + 1]] <- c(r[i], r[j])
  out
}

analysis_set <- function(path, visit) {
  d <- read.csv(path, stringsAsFactors = FALSE)
  s <- d[d$visit == 0, c("subject", "arm", "pain", "age", "sex", "pain_duration", "site")]
  names(s)[names(s) == "pain"] <- "baseline"
  y <- d[d$visit == visit, c("subject", "pain")]
  s$value <- y$pain[match(s$subject, y$subject)]
  s <- s[!is.na(s$value) & !is.na(s$baseline), ]
  s
}

cut_var <- function(x, cuts, labels) factor(labels[findInterval(x, cuts) + 1], levels = labels)

contrast_table <- function(emm, prs, arms, adjust) {
  meth <- setNames(lapply(prs, function(p) as.numeric(arms == p[1]) - as.numeric(arms == p[2])),
                   sapply(prs, function(p) paste(p[1], "-", p[2])))
  as.data.frame(summary(contrast(emm, method = meth, adjust = adjust), infer = TRUE))
}

run <- function(path, which, cuts, labels, adjust) {
  s <- analysis_set(path, 12)
  arms <- display[display %in% unique(s$arm)]
  s$arm <- factor(s$arm, levels = arms)
  prs <- pairs_for(arms, which)
  overall_fit <- lm(value ~ arm + baseline, data = s)
  ov <- contrast_table(emmeans(overall_fit, ~ arm), prs, arms, adjust)
  out <- list(overall = data.frame(contrast = as.character(ov$contrast), estimate = ov$estimate, se = ov$SE,
                                   df = ov$df, statistic = ov$t.ratio, p = ov$p.value, ci_low = ov$lower.CL,
                                   ci_high = ov$upper.CL))
  vars <- list()
  skipped <- list()
  for (v in c("pain_duration", "age", "sex", "site")) {
    x <- s[!is.na(s[[v]]), ]
    x$level <- if (v %in% names(cuts)) cut_var(x[[v]], cuts[[v]], labels[[v]]) else factor(x[[v]])
    tab <- table(x$level, x$arm)
    small <- rownames(tab)[apply(tab < 2, 1, any)]
    skipped[[v]] <- small
    x <- x[!(as.character(x$level) %in% small), ]
    x$level <- droplevels(x$level)
    fit <- lm(value ~ arm * level + baseline, data = x)
    reduced <- lm(value ~ arm + level + baseline, data = x)
    a <- anova(reduced, fit)
    ct <- contrast_table(emmeans(fit, ~ arm | level), prs, arms, adjust)
    n <- sapply(seq_len(nrow(ct)), function(i) {
      p <- strsplit(as.character(ct$contrast[i]), " - ")[[1]]
      sum(tab[as.character(ct$level[i]), p])
    })
    vars[[v]] <- list(
      contrasts = data.frame(level = as.character(ct$level), contrast = as.character(ct$contrast), n = n,
                             estimate = ct$estimate, se = ct$SE, df = ct$df, statistic = ct$t.ratio,
                             p = ct$p.value, ci_low = ct$lower.CL, ci_high = ct$upper.CL),
      interaction = list(statistic = a$F[2], df_num = a$Df[2], df = a$Res.Df[2], p = a$`Pr(>F)`[2],
                         n = nrow(x), levels = nlevels(x$level)),
      counts = as.data.frame(tab, responseName = "n"))
  }
  list(file = path, md5 = unname(tools::md5sum(path)), pairs = which, adjust = adjust, overall = out$overall,
       variables = vars, skipped = skipped)
}

default_cuts <- list(pain_duration = 3, age = c(40, 60))
default_labels <- list(pain_duration = c("acute (< 3 months)", "chronic (>= 3 months)"),
                       age = c("< 40", "40 to < 60", ">= 60"))

out <- list(
  R = R.version.string,
  packages = list(emmeans = as.character(packageVersion("emmeans")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  cases = list(
    three_arm = run("data/sample/three_arm.csv", "combination", default_cuts, default_labels, "none"),
    three_arm_holm_all = run("data/sample/three_arm.csv", "all", default_cuts, default_labels, "holm"),
    factorial_all_age50 = run("data/sample/factorial.csv", "all", list(pain_duration = 3, age = 50),
                              list(pain_duration = default_labels$pain_duration, age = c("< 50", ">= 50")), "none"),
    unbalanced = run("tests/reference/data/safety_unbalanced.csv", "combination", default_cuts, default_labels,
                     "none")
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = TRUE), "tests/reference/subgroups.json")
cat("wrote tests/reference/subgroups.json\n")
