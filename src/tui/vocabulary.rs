//! The PromQL words the prompt knows: functions and aggregation operators, each with a
//! signature and a one-line doc. Highlighting (`highlight`) asks whether a word is one of them;
//! completion (`complete`) offers them. Plain data: uses nothing else in the crate.

/// PromQL functions: name, signature, one-line doc.
pub const FUNCTIONS: &[(&str, &str, &str)] = &[
    (
        "abs",
        "abs(v instant-vector)",
        "absolute value of every sample",
    ),
    (
        "absent",
        "absent(v instant-vector)",
        "1-element vector if v has no elements",
    ),
    (
        "absent_over_time",
        "absent_over_time(v range-vector)",
        "1-element vector if the range has no samples",
    ),
    ("acos", "acos(v instant-vector)", "arccosine"),
    (
        "acosh",
        "acosh(v instant-vector)",
        "inverse hyperbolic cosine",
    ),
    ("asin", "asin(v instant-vector)", "arcsine"),
    (
        "asinh",
        "asinh(v instant-vector)",
        "inverse hyperbolic sine",
    ),
    ("atan", "atan(v instant-vector)", "arctangent"),
    (
        "atanh",
        "atanh(v instant-vector)",
        "inverse hyperbolic tangent",
    ),
    (
        "avg_over_time",
        "avg_over_time(v range-vector)",
        "average of each series over the range",
    ),
    ("ceil", "ceil(v instant-vector)", "round up to an integer"),
    (
        "changes",
        "changes(v range-vector)",
        "how often the value changed in the range",
    ),
    (
        "clamp",
        "clamp(v instant-vector, min scalar, max scalar)",
        "limit values to [min, max]",
    ),
    (
        "clamp_max",
        "clamp_max(v instant-vector, max scalar)",
        "limit values to at most max",
    ),
    (
        "clamp_min",
        "clamp_min(v instant-vector, min scalar)",
        "limit values to at least min",
    ),
    ("cos", "cos(v instant-vector)", "cosine"),
    ("cosh", "cosh(v instant-vector)", "hyperbolic cosine"),
    (
        "count_over_time",
        "count_over_time(v range-vector)",
        "number of samples in the range",
    ),
    (
        "day_of_month",
        "day_of_month(v=vector(time()) instant-vector)",
        "day of the month (UTC)",
    ),
    (
        "day_of_week",
        "day_of_week(v=vector(time()) instant-vector)",
        "day of the week, 0 = Sunday (UTC)",
    ),
    (
        "day_of_year",
        "day_of_year(v=vector(time()) instant-vector)",
        "day of the year (UTC)",
    ),
    (
        "days_in_month",
        "days_in_month(v=vector(time()) instant-vector)",
        "days in the month (UTC)",
    ),
    ("deg", "deg(v instant-vector)", "radians to degrees"),
    (
        "delta",
        "delta(v range-vector)",
        "difference between first and last value (gauges)",
    ),
    (
        "deriv",
        "deriv(v range-vector)",
        "per-second derivative by linear regression",
    ),
    (
        "exp",
        "exp(v instant-vector)",
        "e to the power of each value",
    ),
    (
        "floor",
        "floor(v instant-vector)",
        "round down to an integer",
    ),
    (
        "histogram_avg",
        "histogram_avg(v instant-vector)",
        "average of the observations in native histograms (sum / count)",
    ),
    (
        "histogram_count",
        "histogram_count(v instant-vector)",
        "count of the observations in native histograms",
    ),
    (
        "histogram_fraction",
        "histogram_fraction(lower scalar, upper scalar, b instant-vector)",
        "estimated fraction of the observations between lower and upper (native histograms)",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(φ scalar, b instant-vector)",
        "φ-quantile (0 ≤ φ ≤ 1) of native histograms or classic buckets (by le)",
    ),
    (
        "histogram_stddev",
        "histogram_stddev(v instant-vector)",
        "estimated standard deviation of the observations in native histograms",
    ),
    (
        "histogram_stdvar",
        "histogram_stdvar(v instant-vector)",
        "estimated variance of the observations in native histograms",
    ),
    (
        "histogram_sum",
        "histogram_sum(v instant-vector)",
        "sum of the observations in native histograms",
    ),
    (
        "holt_winters",
        "holt_winters(v range-vector, sf scalar, tf scalar)",
        "smoothed value (renamed double_exponential_smoothing)",
    ),
    (
        "double_exponential_smoothing",
        "double_exponential_smoothing(v range-vector, sf scalar, tf scalar)",
        "smoothed value (Holt-Winters)",
    ),
    (
        "hour",
        "hour(v=vector(time()) instant-vector)",
        "hour of the day (UTC)",
    ),
    (
        "idelta",
        "idelta(v range-vector)",
        "difference of the last two samples",
    ),
    (
        "increase",
        "increase(v range-vector)",
        "increase of a counter over the range",
    ),
    (
        "info",
        "info(v instant-vector, [data-label-selector instant-vector])",
        "add labels of target_info (or other info metrics)",
    ),
    (
        "irate",
        "irate(v range-vector)",
        "per-second rate from the last two samples",
    ),
    (
        "label_join",
        "label_join(v instant-vector, dst string, sep string, src...string)",
        "join label values into a new label",
    ),
    (
        "label_replace",
        "label_replace(v instant-vector, dst string, repl string, src string, regex string)",
        "set a label from a regex match",
    ),
    (
        "last_over_time",
        "last_over_time(v range-vector)",
        "most recent value in the range",
    ),
    (
        "limitk",
        "limitk(k, v instant-vector)",
        "k series of v (aggregation)",
    ),
    (
        "limit_ratio",
        "limit_ratio(r, v instant-vector)",
        "a ratio r of the series of v (aggregation)",
    ),
    ("ln", "ln(v instant-vector)", "natural logarithm"),
    ("log10", "log10(v instant-vector)", "decimal logarithm"),
    ("log2", "log2(v instant-vector)", "binary logarithm"),
    (
        "mad_over_time",
        "mad_over_time(v range-vector)",
        "median absolute deviation over the range",
    ),
    (
        "max_over_time",
        "max_over_time(v range-vector)",
        "maximum over the range",
    ),
    (
        "min_over_time",
        "min_over_time(v range-vector)",
        "minimum over the range",
    ),
    (
        "minute",
        "minute(v=vector(time()) instant-vector)",
        "minute of the hour (UTC)",
    ),
    (
        "month",
        "month(v=vector(time()) instant-vector)",
        "month of the year (UTC)",
    ),
    ("pi", "pi()", "π"),
    (
        "predict_linear",
        "predict_linear(v range-vector, t scalar)",
        "value t seconds from now by linear regression",
    ),
    (
        "present_over_time",
        "present_over_time(v range-vector)",
        "1 for series with samples in the range",
    ),
    (
        "quantile_over_time",
        "quantile_over_time(φ scalar, v range-vector)",
        "φ-quantile over the range",
    ),
    ("rad", "rad(v instant-vector)", "degrees to radians"),
    (
        "rate",
        "rate(v range-vector)",
        "per-second average increase of a counter",
    ),
    (
        "resets",
        "resets(v range-vector)",
        "counter resets in the range",
    ),
    (
        "round",
        "round(v instant-vector, to_nearest=1 scalar)",
        "round to the nearest multiple",
    ),
    (
        "scalar",
        "scalar(v instant-vector)",
        "the value of a 1-element vector, else NaN",
    ),
    ("sgn", "sgn(v instant-vector)", "sign: -1, 0 or 1"),
    ("sin", "sin(v instant-vector)", "sine"),
    ("sinh", "sinh(v instant-vector)", "hyperbolic sine"),
    ("sort", "sort(v instant-vector)", "ascending by value"),
    (
        "sort_by_label",
        "sort_by_label(v instant-vector, label string, ...)",
        "ascending by label values",
    ),
    (
        "sort_by_label_desc",
        "sort_by_label_desc(v instant-vector, label string, ...)",
        "descending by label values",
    ),
    (
        "sort_desc",
        "sort_desc(v instant-vector)",
        "descending by value",
    ),
    ("sqrt", "sqrt(v instant-vector)", "square root"),
    (
        "stddev_over_time",
        "stddev_over_time(v range-vector)",
        "standard deviation over the range",
    ),
    (
        "stdvar_over_time",
        "stdvar_over_time(v range-vector)",
        "variance over the range",
    ),
    (
        "sum_over_time",
        "sum_over_time(v range-vector)",
        "sum over the range",
    ),
    ("tan", "tan(v instant-vector)", "tangent"),
    ("tanh", "tanh(v instant-vector)", "hyperbolic tangent"),
    ("time", "time()", "evaluation time, seconds since the epoch"),
    (
        "timestamp",
        "timestamp(v instant-vector)",
        "timestamp of each sample",
    ),
    (
        "vector",
        "vector(s scalar)",
        "the scalar as a vector without labels",
    ),
    (
        "year",
        "year(v=vector(time()) instant-vector)",
        "year (UTC)",
    ),
];

/// Aggregation operators: name, signature, doc.
pub const AGGREGATIONS: &[(&str, &str, &str)] = &[
    (
        "sum",
        "sum [by|without (labels)] (v)",
        "sum over dimensions",
    ),
    (
        "avg",
        "avg [by|without (labels)] (v)",
        "average over dimensions",
    ),
    (
        "min",
        "min [by|without (labels)] (v)",
        "minimum over dimensions",
    ),
    (
        "max",
        "max [by|without (labels)] (v)",
        "maximum over dimensions",
    ),
    (
        "count",
        "count [by|without (labels)] (v)",
        "number of series",
    ),
    ("group", "group [by|without (labels)] (v)", "1 per group"),
    (
        "stddev",
        "stddev [by|without (labels)] (v)",
        "population standard deviation",
    ),
    (
        "stdvar",
        "stdvar [by|without (labels)] (v)",
        "population variance",
    ),
    ("topk", "topk(k, v)", "largest k by value"),
    ("bottomk", "bottomk(k, v)", "smallest k by value"),
    ("quantile", "quantile(φ, v)", "φ-quantile over dimensions"),
    (
        "count_values",
        "count_values(\"label\", v)",
        "series per distinct value",
    ),
];

/// Whether `w` is a PromQL function name.
pub fn is_function(w: &str) -> bool {
    FUNCTIONS.iter().any(|f| f.0 == w)
}

/// Whether `w` is an aggregation operator.
pub fn is_aggregation(w: &str) -> bool {
    AGGREGATIONS.iter().any(|f| f.0 == w)
}
