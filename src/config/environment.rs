//! No silent fallback: an environment variable that looks like one of this
//! server's settings but is not (`DATABSE_URL`, `SMTP_ULR`, `SMTP_HOST`)
//! stops the start, naming the setting it probably meant, instead of the
//! server starting on a default (its own SQLite file, live email off).
//!
//! A variable looks like a setting when it is within a small edit distance
//! of one, or when it starts with the prefix a family of settings shares
//! (`SMTP_`, `RATE_LIMIT_`, `TEST_SMTP_`, …; generic first words such as
//! `DATABASE_` or `MAX_` are no family). A `*_FILE` variable whose setting
//! has no file form is refused too.

/// Variables this server reads that are not settings of its own.
const ALSO_READ: &[&str] = &["RUST_LOG"];

/// The prefix of OpenTelemetry's own variables.
const OPENTELEMETRY: &str = "OTEL_";

/// First words too common to make a family of settings: other software
/// uses them too (`DATABASE_PASSWORD`, `TEST_…`, `MAX_…`).
const GENERIC: &[&str] = &[
    "API", "BODY", "DATABASE", "DB", "FIELD", "HEADER", "LISTEN", "LOG", "MAX", "METRICS", "NO",
    "PASSWORD", "REQUEST", "SHOP", "SHUTDOWN", "TEST", "TRUSTED",
];

/// Why the variables in `vars` cannot be trusted, given the settings' own
/// variable names `known`: one message per variable, empty when all is well.
pub fn unknown_settings<'a>(
    known: &[String],
    vars: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let families = families(known);
    let mut problems = Vec::new();
    for var in vars {
        if known.iter().any(|k| k == var) || ALSO_READ.contains(&var) {
            continue;
        }
        if let Some(stem) = var.strip_suffix("_FILE")
            && known.iter().any(|k| k == stem)
        {
            problems.push(format!(
                "unknown setting {var}: {stem} has no file form (set {stem} itself)"
            ));
            continue;
        }
        let near = nearest(known, var);
        if near.is_some() || families.iter().any(|f| var.starts_with(f.as_str())) {
            problems.push(match near {
                Some(name) => format!("unknown setting {var}; did you mean {name}?"),
                None => format!(
                    "unknown setting {var}: no setting has this name (see `pwreset --help`)"
                ),
            });
        }
    }
    problems
}

/// The prefixes families of settings share: a name's first word (or its
/// first two, when the first is generic and it has three or more).
fn families(known: &[String]) -> Vec<String> {
    let mut families: Vec<String> = known
        .iter()
        // OpenTelemetry's variables are shared by every program in an
        // environment, and this server reads a few: the others (other
        // signals, timeouts) are no mistake, and are left alone.
        .filter(|name| !name.starts_with(OPENTELEMETRY))
        .filter_map(|name| {
            let words: Vec<&str> = name.split('_').collect();
            match words.as_slice() {
                [first, _, ..] if !GENERIC.contains(first) => Some(format!("{first}_")),
                [first, second, _, ..] => Some(format!("{first}_{second}_")),
                _ => None,
            }
        })
        .collect();
    families.sort();
    families.dedup();
    families
}

/// The known name within a small edit distance of `var` (one edit for
/// short names, two from eight characters on), the closest first.
fn nearest<'k>(known: &'k [String], var: &str) -> Option<&'k str> {
    let allowed = if var.len() >= 8 { 2 } else { 1 };
    known
        .iter()
        .map(|k| (distance(k, var), k))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// The optimal string alignment distance between `a` and `b`: insertions,
/// deletions, substitutions and swaps of two neighbours each count one.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        [
            "DATABASE_URL",
            "DATABASE_URL_FILE",
            "SMTP_URL",
            "SMTP_PASSWORD_FILE",
            "TEST_SMTP_URL",
            "RATE_LIMIT_CREATE_PER_IP",
            "MAX_QUERY_DEPTH",
            "LISTEN_ADDR",
            "SHOP_NAME",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_TRACES_SAMPLER",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_misspelled_setting_is_refused_with_what_it_probably_meant() {
        let problems = unknown_settings(&known(), ["DATABSE_URL", "SMTP_ULR", "LISTEN_ADR"]);
        assert_eq!(
            problems,
            [
                "unknown setting DATABSE_URL; did you mean DATABASE_URL?",
                "unknown setting SMTP_ULR; did you mean SMTP_URL?",
                "unknown setting LISTEN_ADR; did you mean LISTEN_ADDR?",
            ]
        );
    }

    #[test]
    fn a_variable_of_a_settings_family_is_refused_and_others_are_left_alone() {
        let problems = unknown_settings(
            &known(),
            [
                "SMTP_HOST",
                "RATE_LIMIT_COMPLETE_PER_EMAIL",
                "TEST_SMTP_PORT",
                "SHOP_NAME_FILE",
                "DATABASE_PASSWORD",
                "TEST_DATABASE_URL",
                "PATH",
                "HOME",
                "RUST_LOG",
                "DATABASE_URL",
                "SMTP_PASSWORD_FILE",
            ],
        );
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("unknown setting SMTP_HOST:"));
        assert!(problems[1].starts_with("unknown setting RATE_LIMIT_COMPLETE_PER_EMAIL:"));
        assert!(problems[2].starts_with("unknown setting TEST_SMTP_PORT:"));
        assert!(problems[3].contains("SHOP_NAME has no file form"));
    }

    #[test]
    fn opentelemetry_variables_it_does_not_read_are_left_alone_but_typos_are_not() {
        let problems = unknown_settings(
            &known(),
            [
                "OTEL_METRICS_EXPORTER",
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "OTEL_BSP_SCHEDULE_DELAY",
                "OTEL_EXPORTER_OTLP_ENDPIONT",
            ],
        );
        assert_eq!(
            problems,
            [
                "unknown setting OTEL_EXPORTER_OTLP_ENDPIONT; did you mean OTEL_EXPORTER_OTLP_ENDPOINT?"
            ]
        );
    }

    #[test]
    fn distances_count_each_edit_once() {
        assert_eq!(distance("SMTP_URL", "SMTP_ULR"), 1);
        assert_eq!(distance("DATABASE_URL", "DATABSE_URL"), 1);
        assert_eq!(distance("LOG_FORMAT", "LOG_FROMAT"), 1);
        assert_eq!(distance("HOME", "PATH"), 4);
    }
}
