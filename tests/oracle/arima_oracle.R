# arima_oracle.R — oracle for tests/python/test_arima_oracle.py: R's stats::arima on given series.
# Usage: Rscript arima_oracle.R cases.json out.json
# Each case: {id, y (null = NA), order, seasonal, s, constant, h, fixed (optional: coefficients
# for a fixed-coefficient filter, as after aquacast's update)}. Drift is forecast::Arima's
# include.drift: an xreg column 1..n named "drift".
suppressMessages(library(jsonlite))
args <- commandArgs(TRUE)
cases <- fromJSON(args[1], simplifyVector = FALSE)
out <- list()
for (cs in cases) {
  y <- vapply(cs$y, function(v) if (is.null(v)) NA_real_ else as.numeric(v), 0)
  order <- unlist(cs$order); seas <- unlist(cs$seasonal); s <- cs$s; h <- cs$h
  nd <- order[2] + seas[2]
  drift <- cs$constant == 1 && nd == 1
  xr <- if (drift) matrix(seq_along(y), ncol = 1, dimnames = list(NULL, "drift")) else NULL
  fixed <- if (!is.null(cs$fixed)) unlist(cs$fixed) else NULL
  res <- tryCatch({
    fit <- arima(y, order = order, seasonal = list(order = seas, period = s), xreg = xr,
                 include.mean = cs$constant == 1, fixed = fixed,
                 transform.pars = is.null(fixed))
    pr <- if (drift) predict(fit, n.ahead = h, newxreg = matrix(length(y) + seq_len(h), ncol = 1))
          else predict(fit, n.ahead = h)
    k <- length(fit$coef); npar <- k + 1; ns <- fit$nobs
    list(ok = TRUE, coef = as.numeric(coef(fit)), loglik = fit$loglik, aic = fit$aic,
         # forecast::Arima's AICc and BIC (npar = coefficients + 1, nstar = nobs)
         aicc = fit$aic + 2 * npar * (ns / (ns - npar - 1) - 1), bic = fit$aic + npar * (log(ns) - 2),
         sigma2 = fit$sigma2, nobs = fit$nobs, mean = as.numeric(pr$pred), se = as.numeric(pr$se))
  }, error = function(e) list(ok = FALSE, error = conditionMessage(e)))
  res$id <- cs$id
  out[[length(out) + 1]] <- res
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"), args[2])
