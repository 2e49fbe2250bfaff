//! The names a policy may use from CUE's predeclared functions and standard packages. `resolve`
//! turns each into a `Predefined` once, at compile time, so evaluation dispatches on `Builtin`
//! and never compares names.

pub const RFC3339: &str = "2006-01-02T15:04:05Z07:00";
pub const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// One table for the enum, its names and its arities, so they cannot drift apart.
macro_rules! builtins {
    ($($variant:ident = $name:literal, $args:literal, $validator:literal;)*) => {
        /// A function: predeclared (`len`) or a member of a std package (`strings.Contains`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Builtin {
            $($variant,)*
        }

        impl Builtin {
            const ALL: &'static [Builtin] = &[$(Builtin::$variant,)*];

            /// As CUE spells it in calls and messages.
            pub fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => $name,)*
                }
            }

            /// (number of arguments, usable as a validator with the first argument omitted)
            pub fn arity(self) -> (usize, bool) {
                match self {
                    $(Builtin::$variant => ($args, $validator),)*
                }
            }
        }
    };
}

builtins! {
    Len = "len", 1, false;
    Close = "close", 1, false;
    And = "and", 1, false;
    Or = "or", 1, false;
    StringsHasPrefix = "strings.HasPrefix", 2, true;
    StringsHasSuffix = "strings.HasSuffix", 2, true;
    StringsContains = "strings.Contains", 2, true;
    StringsContainsAny = "strings.ContainsAny", 2, true;
    StringsMinRunes = "strings.MinRunes", 2, true;
    StringsMaxRunes = "strings.MaxRunes", 2, true;
    StringsToLower = "strings.ToLower", 1, false;
    StringsToUpper = "strings.ToUpper", 1, false;
    StringsTrimSpace = "strings.TrimSpace", 1, false;
    StringsFields = "strings.Fields", 1, false;
    StringsSplit = "strings.Split", 2, false;
    StringsJoin = "strings.Join", 2, false;
    StringsTrimPrefix = "strings.TrimPrefix", 2, false;
    StringsTrimSuffix = "strings.TrimSuffix", 2, false;
    StringsIndex = "strings.Index", 2, false;
    StringsLastIndex = "strings.LastIndex", 2, false;
    StringsCount = "strings.Count", 2, false;
    StringsRepeat = "strings.Repeat", 2, false;
    StringsTrim = "strings.Trim", 2, false;
    StringsReplace = "strings.Replace", 4, false;
    StringsSplitN = "strings.SplitN", 3, false;
    ListMinItems = "list.MinItems", 2, true;
    ListMaxItems = "list.MaxItems", 2, true;
    ListContains = "list.Contains", 2, true;
    ListUniqueItems = "list.UniqueItems", 1, true;
    ListSum = "list.Sum", 1, false;
    ListMax = "list.Max", 1, false;
    ListMin = "list.Min", 1, false;
    ListAvg = "list.Avg", 1, false;
    ListConcat = "list.Concat", 1, false;
    StructMinFields = "struct.MinFields", 2, true;
    StructMaxFields = "struct.MaxFields", 2, true;
    TimeTime = "time.Time", 1, true;
    TimeFormat = "time.Format", 2, true;
    TimeParse = "time.Parse", 2, false;
    TimeUnix = "time.Unix", 2, false;
    MathFloor = "math.Floor", 1, false;
    MathCeil = "math.Ceil", 1, false;
    MathRound = "math.Round", 1, false;
    MathTrunc = "math.Trunc", 1, false;
    MathAbs = "math.Abs", 1, false;
    MathSqrt = "math.Sqrt", 1, false;
    MathPow = "math.Pow", 2, false;
    RegexpMatch = "regexp.Match", 2, false;
    RegexpFind = "regexp.Find", 2, false;
}

/// What a predeclared identifier or a std package member stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Predefined {
    Func(Builtin),
    Str(&'static str),
    Int(i128),
    Float(f64),
}

/// The predeclared functions (`len`, `close`, `and`, `or`), by identifier.
pub fn predeclared(name: &str) -> Option<Builtin> {
    match name {
        "len" => Some(Builtin::Len),
        "close" => Some(Builtin::Close),
        "and" => Some(Builtin::And),
        "or" => Some(Builtin::Or),
        _ => None,
    }
}

/// A constant or function selected from an imported package (`None`: not supported).
pub fn member(pkg: &str, name: &str) -> Option<Predefined> {
    Some(match (pkg, name) {
        ("time", "RFC3339") => Predefined::Str(RFC3339),
        ("time", "RFC3339Nano") => Predefined::Str(RFC3339_NANO),
        ("time", "Nanosecond") => Predefined::Int(1),
        ("time", "Microsecond") => Predefined::Int(1_000),
        ("time", "Millisecond") => Predefined::Int(1_000_000),
        ("time", "Second") => Predefined::Int(1_000_000_000),
        ("time", "Minute") => Predefined::Int(60_000_000_000),
        ("time", "Hour") => Predefined::Int(3_600_000_000_000),
        ("math", "Pi") => Predefined::Float(std::f64::consts::PI),
        ("math", "E") => Predefined::Float(std::f64::consts::E),
        _ => Predefined::Func(
            Builtin::ALL
                .iter()
                .copied()
                .find(|b| b.name().split_once('.') == Some((pkg, name)))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_found_by_its_own_name() {
        for &b in Builtin::ALL {
            let found = match b.name().split_once('.') {
                Some((pkg, name)) => member(pkg, name),
                None => predeclared(b.name()).map(Predefined::Func),
            };
            assert_eq!(found, Some(Predefined::Func(b)), "{}", b.name());
        }
        assert_eq!(member("strings", "len"), None);
        assert_eq!(member("list", "Sort"), None);
        assert_eq!(predeclared("strings.Contains"), None);
    }
}
