//! Label and field selectors, parsed, matched and printed exactly as
//! Kubernetes' `k8s.io/apimachinery/pkg/labels` and `pkg/fields` do, so that
//! `?labelSelector=` and `?fieldSelector=` behave (and fail) like a real
//! API server.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde_json::Value;

use crate::field_error::FieldError;
use crate::validation::format;

/// A selector string or object that Kubernetes would reject; the message is Kubernetes' own.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SelectorError {
    /// A label selector that does not parse or holds invalid keys or values.
    #[error("{0}")]
    Label(String),
    /// A field selector that does not parse.
    #[error("{0}")]
    Field(String),
}

/// How a label requirement relates a key to its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One `key op values` term of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating key and values as Kubernetes' `NewRequirement` does.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        let mut errs = Vec::new();
        if let Some(e) = invalid_key(key, "key") {
            errs.push(e);
        }
        errs.extend(operator_value_errors(operator, &values));
        for (i, v) in values.iter().enumerate() {
            let msgs = format::label_value(v);
            if !msgs.is_empty() {
                errs.push(FieldError::invalid(
                    format!("values[{i}][{key}]"),
                    v.as_str(),
                    msgs.join("; "),
                ));
            }
        }
        if errs.is_empty() {
            Ok(Requirement {
                key: key.to_string(),
                operator,
                values,
            })
        } else {
            Err(SelectorError::Label(aggregate(&errs)))
        }
    }

    /// The label key this requirement tests.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator of this requirement.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, in the order given.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a label set satisfies this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => self.compare(value),
        }
    }

    fn compare(&self, value: Option<&String>) -> bool {
        let (Some(have), [want]) = (
            value.and_then(|v| v.parse::<i64>().ok()),
            self.values.as_slice(),
        ) else {
            return false;
        };
        let Ok(want) = want.parse::<i64>() else {
            return false;
        };
        if self.operator == Operator::GreaterThan {
            have > want
        } else {
            have < want
        }
    }
}

fn operator_value_errors(operator: Operator, values: &[String]) -> Vec<FieldError> {
    let as_json = || Value::from(values.to_vec());
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            vec![FieldError::invalid(
                "values",
                Value::Null,
                "for 'in', 'notin' operators, values set can't be empty",
            )]
        }
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            vec![FieldError::invalid(
                "values",
                as_json(),
                "exact-match compatibility requires one single value",
            )]
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            vec![FieldError::invalid(
                "values",
                as_json(),
                "values set must be empty for exists and does not exist",
            )]
        }
        Operator::GreaterThan | Operator::LessThan => comparison_value_errors(values),
        _ => Vec::new(),
    }
}

fn comparison_value_errors(values: &[String]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if values.len() != 1 {
        errs.push(FieldError::invalid(
            "values",
            Value::from(values.to_vec()),
            "for 'Gt', 'Lt' operators, exactly one value is required",
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if v.parse::<i64>().is_err() {
            errs.push(FieldError::invalid(
                format!("values[{i}]"),
                v.as_str(),
                "for 'Gt', 'Lt' operators, the value must be an integer",
            ));
        }
    }
    errs
}

fn invalid_key(key: &str, path: &str) -> Option<FieldError> {
    let msgs = format::label_key(key);
    (!msgs.is_empty()).then(|| FieldError::invalid(path, key, msgs.join("; ")))
}

/// Joins errors the way Go's `utilerrors.Aggregate` prints them.
fn aggregate(errs: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        let s = e.to_string();
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    match seen.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
        };
        let mut values = self.values.clone();
        values.sort();
        let joined = values.join(",");
        if matches!(self.operator, Operator::In | Operator::NotIn) {
            write!(f, "{op}({joined})")
        } else {
            write!(f, "{op}{joined}")
        }
    }
}

/// A parsed label selector: the AND of its requirements, sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the `?labelSelector=` syntax; the empty string selects everything.
    pub fn parse(s: &str) -> Result<LabelSelector, SelectorError> {
        let mut parser = Parser {
            tokens: lex(s),
            pos: 0,
        };
        let mut requirements = parser.parse().map_err(SelectorError::Label)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// Converts a `metav1.LabelSelector` (as found in specs); an empty one selects everything.
    pub fn from_label_selector(
        sel: &metav1::LabelSelector,
    ) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            requirements.push(Requirement::new(k, Operator::Equals, vec![v.clone()])?);
        }
        for expr in sel.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::Label(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            requirements.push(Requirement::new(
                &expr.key,
                operator,
                expr.values.clone().unwrap_or_default(),
            )?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// Whether every requirement holds for this label set.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(Requirement::to_string)
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Splits a selector into tokens the way Kubernetes' lexer does (a NUL byte ends the input).
fn lex(s: &str) -> Vec<(Tok, String)> {
    let bytes = s.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < end && is_space(bytes[pos]) {
            pos += 1;
        }
        if pos >= end {
            out.push((Tok::End, String::new()));
            return out;
        }
        let start = pos;
        let tok = if is_special(bytes[pos]) {
            let two = bytes.get(pos..pos + 2).filter(|_| pos + 2 <= end);
            let (tok, len) = special_token(bytes[pos], two);
            pos += len;
            tok
        } else {
            while pos < end && !is_special(bytes[pos]) && !is_space(bytes[pos]) {
                pos += 1;
            }
            match &s[start..pos] {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Identifier,
            }
        };
        out.push((tok, s[start..pos].to_string()));
    }
}

fn special_token(first: u8, two: Option<&[u8]>) -> (Tok, usize) {
    match two {
        Some(b"!=") => return (Tok::NotEquals, 2),
        Some(b"==") => return (Tok::DoubleEquals, 2),
        _ => {}
    }
    let tok = match first {
        b'=' => Tok::Equals,
        b'!' => Tok::DoesNotExist,
        b'(' => Tok::OpenPar,
        b')' => Tok::ClosedPar,
        b',' => Tok::Comma,
        b'>' => Tok::GreaterThan,
        _ => Tok::LessThan,
    };
    (tok, 1)
}

struct Parser {
    tokens: Vec<(Tok, String)>,
    pos: usize,
}

/// In value position the keywords `in` and `notin` are plain identifiers.
fn as_value(tok: Tok) -> Tok {
    if matches!(tok, Tok::In | Tok::NotIn) {
        Tok::Identifier
    } else {
        tok
    }
}

impl Parser {
    fn peek(&self) -> (Tok, String) {
        self.tokens
            .get(self.pos)
            .map_or((Tok::End, String::new()), |(t, l)| {
                (as_value(*t), l.clone())
            })
    }

    fn next_raw(&mut self) -> (Tok, String) {
        let item = self
            .tokens
            .get(self.pos)
            .cloned()
            .unwrap_or((Tok::End, String::new()));
        self.pos += 1;
        item
    }

    fn next(&mut self) -> (Tok, String) {
        let (t, l) = self.next_raw();
        (as_value(t), l)
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.peek();
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    match self.next() {
                        (Tok::End, _) => return Ok(requirements),
                        (Tok::Comma, _) => {
                            let (t2, l2) = self.peek();
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        (_, l) => {
                            return Err(format!("found '{l}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                Tok::End => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (key, unary) = self.key_and_unary_operator()?;
        if let Some(op) = unary {
            return Requirement::new(&key, op, Vec::new()).map_err(|e| e.to_string());
        }
        let op = self.binary_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        Requirement::new(&key, op, values.into_iter().collect()).map_err(|e| e.to_string())
    }

    fn key_and_unary_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let (mut tok, mut lit) = self.next();
        let negated = tok == Tok::DoesNotExist;
        if negated {
            (tok, lit) = self.next();
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        if let Some(e) = invalid_key(&lit, "<nil>") {
            return Err(e.to_string());
        }
        let at_end = matches!(self.peek().0, Tok::End | Tok::Comma);
        let op = if negated {
            Some(Operator::DoesNotExist)
        } else {
            at_end.then_some(Operator::Exists)
        };
        Ok((lit, op))
    }

    fn binary_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.next_raw();
        Ok(match tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => {
                return Err(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        })
    }

    fn value_set(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.next();
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.peek();
        match tok {
            Tok::Identifier | Tok::Comma => {
                let set = self.identifier_list()?;
                self.next();
                Ok(set)
            }
            Tok::ClosedPar => {
                self.next();
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn identifier_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            let (tok, lit) = self.next();
            match tok {
                Tok::Identifier => {
                    set.insert(lit);
                    match self.peek() {
                        (Tok::Comma, _) => {}
                        (Tok::ClosedPar, _) => return Ok(set),
                        (_, l2) => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    match self.peek().0 {
                        Tok::ClosedPar => {
                            set.insert(String::new());
                            return Ok(set);
                        }
                        Tok::Comma => {
                            set.insert(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.peek().0, Tok::End | Tok::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        match self.next() {
            (Tok::Identifier, lit) => Ok(BTreeSet::from([lit])),
            (_, lit) => Err(format!("found '{lit}', expected: identifier")),
        }
    }
}

/// How a field requirement compares a field with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOperator {
    Equals,
    NotEquals,
}

/// One `field=value` or `field!=value` term of a field selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOperator,
    pub value: String,
}

/// A parsed field selector: the AND of its requirements, in sorted term order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses the `?fieldSelector=` syntax (`=`, `==`, `!=`, `\`-escapes); empty selects everything.
    pub fn parse(s: &str) -> Result<FieldSelector, SelectorError> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut requirements = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((field, op, raw)) = split_term(part) else {
                return Err(SelectorError::Field(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape(raw)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                op,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// The requirements, in the order they are evaluated.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The value an `=` requirement pins `field` to, if any (used to narrow lookups).
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.op == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }

    /// Whether an object matches; `get` returns a field's value, `None` counting as empty.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let have = get(&r.field).unwrap_or_default();
            (have == r.value) == (r.op == FieldOperator::Equals)
        })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| {
                let op = if r.op == FieldOperator::Equals {
                    "="
                } else {
                    "!="
                };
                format!("{}{op}{}", r.field, escape(&r.value))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Splits on unescaped commas, keeping escapes in place.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator; the left side takes no escapes.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (text, op) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(text) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

fn unescape(s: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::Field(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                )));
            }
            out.push(c);
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' || c == '=' {
            return Err(SelectorError::Field(format!(
                "invalid field selector: unescaped character in value: {}",
                u32::from(c)
            )));
        } else {
            out.push(c);
        }
    }
    if in_slash {
        return Err(SelectorError::Field(
            "invalid field selector: invalid escape sequence: \\".to_string(),
        ));
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse_err(s: &str) -> String {
        match LabelSelector::parse(s) {
            Err(e) => e.to_string(),
            Ok(sel) => panic!("{s:?} parsed as {sel}"),
        }
    }

    #[test]
    fn parses_and_prints_canonically() -> Result<(), SelectorError> {
        let sel = LabelSelector::parse(" x in (foo,,baz),y,z notin ()  , !w, a!=b, c==d, e>5")?;
        assert_eq!(
            sel.to_string(),
            "a!=b,c==d,e>5,!w,x in (,baz,foo),y,z notin ()"
        );
        assert!(LabelSelector::parse("")?.is_empty());
        assert_eq!(LabelSelector::parse("env=")?.to_string(), "env=");
        assert_eq!(
            LabelSelector::parse("k in (in, notin)")?.to_string(),
            "k in (in,notin)"
        );
        Ok(())
    }

    #[test]
    fn matches_like_kubernetes() -> Result<(), SelectorError> {
        let l = labels(&[("app", "web"), ("tier", "3")]);
        assert!(LabelSelector::parse("app=web")?.matches(&l));
        assert!(LabelSelector::parse("app in (db,web),tier")?.matches(&l));
        assert!(!LabelSelector::parse("app notin (web)")?.matches(&l));
        assert!(LabelSelector::parse("missing notin (x),!other")?.matches(&l));
        assert!(LabelSelector::parse("tier>2,tier<4")?.matches(&l));
        assert!(!LabelSelector::parse("app>2")?.matches(&l));
        assert!(LabelSelector::parse("")?.matches(&l));
        Ok(())
    }

    #[test]
    fn reports_kubernetes_parse_errors() {
        assert_eq!(
            parse_err("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(parse_err("a,"), "found '', expected: identifier after ','");
        assert_eq!(
            parse_err("=a"),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            parse_err("x in a"),
            "unable to parse requirement: found 'a' expected: '('"
        );
        assert_eq!(
            parse_err("x in (a b)"),
            "unable to parse requirement: found 'b', expected: ',' or ')'"
        );
        assert_eq!(
            parse_err("!a=b"),
            "found '=', expected: ',' or 'end of string'"
        );
        assert_eq!(
            parse_err("a>b"),
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert!(parse_err("a=-x").starts_with(
            "unable to parse requirement: values[0][a]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters"
        ));
        assert!(parse_err("-a=b").starts_with(
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric characters"
        ));
    }

    #[test]
    fn converts_label_selector_objects() -> Result<(), SelectorError> {
        let sel = metav1::LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
            match_expressions: Some(vec![metav1::LabelSelectorRequirement {
                key: "env".into(),
                operator: "In".into(),
                values: Some(vec!["prod".into(), "dev".into()]),
            }]),
        };
        let s = LabelSelector::from_label_selector(&sel)?;
        assert_eq!(s.to_string(), "app=web,env in (dev,prod)");
        assert!(s.matches(&labels(&[("app", "web"), ("env", "dev")])));
        assert!(LabelSelector::from_label_selector(&metav1::LabelSelector::default())?.is_empty());
        let bad = metav1::LabelSelector {
            match_expressions: Some(vec![metav1::LabelSelectorRequirement {
                key: "env".into(),
                operator: "Foo".into(),
                values: None,
            }]),
            ..Default::default()
        };
        let err = LabelSelector::from_label_selector(&bad)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("\"Foo\" is not a valid label selector operator")
        );
        let empty_in = metav1::LabelSelector {
            match_expressions: Some(vec![metav1::LabelSelectorRequirement {
                key: "env".into(),
                operator: "In".into(),
                values: None,
            }]),
            ..Default::default()
        };
        let err = LabelSelector::from_label_selector(&empty_in)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"
            )
        );
        Ok(())
    }

    #[test]
    fn field_selectors_parse_match_and_escape() -> Result<(), SelectorError> {
        let sel = FieldSelector::parse("status.phase!=Running,metadata.name==a\\,b")?;
        assert_eq!(sel.requirements().len(), 2);
        assert_eq!(sel.requirements()[0].field, "metadata.name");
        assert_eq!(sel.requirements()[0].value, "a,b");
        assert_eq!(sel.requires_exact_match("metadata.name"), Some("a,b"));
        let get = |f: &str| match f {
            "metadata.name" => Some("a,b".to_string()),
            _ => None,
        };
        assert!(sel.matches(get));
        assert_eq!(sel.to_string(), "metadata.name=a\\,b,status.phase!=Running");
        assert!(FieldSelector::parse("")?.is_empty());
        assert!(FieldSelector::parse("=")?.is_empty());
        assert!(FieldSelector::parse("spec.nodeName=")?.matches(|_| None));
        Ok(())
    }

    #[test]
    fn field_selector_errors_use_kubernetes_wording() {
        let err = |s: &str| FieldSelector::parse(s).err().map(|e| e.to_string());
        assert_eq!(
            err("foo").as_deref(),
            Some("invalid selector: 'foo'; can't understand 'foo'")
        );
        assert_eq!(
            err("a=b\\x").as_deref(),
            Some("invalid field selector: invalid escape sequence: \\x")
        );
        assert_eq!(
            err("a=b=c").as_deref(),
            Some("invalid field selector: unescaped character in value: 61")
        );
        assert_eq!(
            err("a=b\\").as_deref(),
            Some("invalid field selector: invalid escape sequence: \\")
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "(", ")", "!", "!!", "a in (", "a in (,", "a in ((", "é=ü", "a\0=b", "a=(b)",
            "x notin", "<", "a<",
        ] {
            let _ = LabelSelector::parse(s);
            let _ = FieldSelector::parse(s);
        }
        assert_eq!(
            LabelSelector::parse("a\0=b").map(|s| s.to_string()),
            Ok("a".to_string())
        );
    }
}
