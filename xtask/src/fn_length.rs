//! The function-length rule: no function or method of the workspace's non-test code is longer
//! than [`MAX_FN_LINES`] lines, counted from its signature to its closing brace.
//!
//! Every `.rs` file outside `target/`, hidden folders, `tests/`, `benches/` and `examples/` is
//! parsed with `syn`; free functions, methods (inherent and trait impls), trait methods with a
//! default body and functions nested in other functions are measured, while `#[cfg(test)]`
//! modules, impls and functions and `#[test]` functions are skipped. Closures are part of the
//! function that holds them. [`ALLOWED_LONG_FNS`] names the few functions that stay over the
//! limit while other work rewrites their code; an entry that is no longer needed is reported
//! too, so the list only shrinks. `cargo xtask tidy` runs the check, and so does a unit test,
//! so `cargo test --workspace` enforces it.

use std::path::{Path, PathBuf};

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// The longest a function may be, in lines from its signature to its closing brace.
pub const MAX_FN_LINES: usize = 80;

/// Functions allowed over [`MAX_FN_LINES`] for now: `(file, name)`, the file relative to the
/// workspace root with `/` separators, the name as [`LongFn::name`] spells it.
///
/// Each entry is code that another piece of work is rewriting at the moment, so splitting it
/// here would only collide with that work; the rewrite brings it under the limit and removes
/// the entry (a stale entry fails the check).
pub const ALLOWED_LONG_FNS: &[(&str, &str)] = &[];

/// A function over the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongFn {
    /// The file, relative to the workspace root, with `/` separators.
    pub file: String,
    /// The line of the signature's first token (1-based).
    pub line: usize,
    /// The function's name, qualified by the inline modules, the impl's type or trait and
    /// the functions it is nested in: `compile`, `Simulation::step`, `outer::inner`.
    pub name: String,
    /// Its length in lines, signature to closing brace.
    pub lines: usize,
}

impl std::fmt::Display for LongFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} `{}` is {} lines (limit {MAX_FN_LINES})",
            self.file, self.line, self.name, self.lines
        )
    }
}

/// What the check found: functions over the limit that the allowlist does not name, and
/// allowlist entries that name no function over the limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FnLengthReport {
    /// Functions over [`MAX_FN_LINES`] that are not on [`ALLOWED_LONG_FNS`].
    pub too_long: Vec<LongFn>,
    /// Entries of the allowlist that no longer match a function over the limit.
    pub stale_allowances: Vec<(String, String)>,
}

impl FnLengthReport {
    /// True when nothing is over the limit unallowed and no allowance is stale.
    pub fn is_clean(&self) -> bool {
        self.too_long.is_empty() && self.stale_allowances.is_empty()
    }
}

impl std::fmt::Display for FnLengthReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.too_long.is_empty() {
            writeln!(f, "functions over {MAX_FN_LINES} lines (split them):")?;
            for long in &self.too_long {
                writeln!(f, "  {long}")?;
            }
        }
        if !self.stale_allowances.is_empty() {
            writeln!(
                f,
                "allowlist entries no longer needed (remove them from ALLOWED_LONG_FNS):"
            )?;
            for (file, name) in &self.stale_allowances {
                writeln!(f, "  {file} `{name}`")?;
            }
        }
        Ok(())
    }
}

/// Why the check could not run.
#[derive(Debug, thiserror::Error)]
pub enum FnLengthError {
    /// A folder or file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file is not valid Rust.
    #[error("cannot parse {path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line of the error (1-based).
        line: usize,
        /// The column of the error (1-based).
        column: usize,
        /// What the parser said.
        message: String,
    },
}

/// Runs the rule on the workspace at `root` against `allowed` (normally
/// [`ALLOWED_LONG_FNS`]).
pub fn check(root: &Path, allowed: &[(&str, &str)]) -> Result<FnLengthReport, FnLengthError> {
    let found = long_functions(root)?;
    let is_allowed = |long: &LongFn| {
        allowed
            .iter()
            .any(|&(file, name)| long.file == file && long.name == name)
    };
    let stale_allowances = allowed
        .iter()
        .filter(|&&(file, name)| !found.iter().any(|l| l.file == file && l.name == name))
        .map(|&(file, name)| (file.to_owned(), name.to_owned()))
        .collect();
    let too_long = found.into_iter().filter(|l| !is_allowed(l)).collect();
    Ok(FnLengthReport {
        too_long,
        stale_allowances,
    })
}

/// Every function over [`MAX_FN_LINES`] in the non-test `.rs` files under `root`, sorted by
/// file and line.
pub fn long_functions(root: &Path) -> Result<Vec<LongFn>, FnLengthError> {
    let mut found = Vec::new();
    for path in non_test_sources(root)? {
        let text = std::fs::read_to_string(&path).map_err(|source| FnLengthError::Io {
            path: path.clone(),
            source,
        })?;
        let file = relative_name(root, &path);
        found.extend(long_functions_in(&file, &text).map_err(|e| {
            let start = e.span().start();
            FnLengthError::Parse {
                path: path.clone(),
                line: start.line,
                column: start.column + 1,
                message: e.to_string(),
            }
        })?);
    }
    found.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(found)
}

/// The functions over [`MAX_FN_LINES`] in one file's source `text`, named `file` in the result.
pub fn long_functions_in(file: &str, text: &str) -> syn::Result<Vec<LongFn>> {
    let ast = syn::parse_file(text)?;
    let mut finder = Finder {
        file,
        scope: Vec::new(),
        found: Vec::new(),
    };
    finder.visit_file(&ast);
    Ok(finder.found)
}

/// The `.rs` files under `root`, outside `target/`, hidden folders, `tests/`, `benches/` and
/// `examples/`, sorted.
fn non_test_sources(root: &Path) -> Result<Vec<PathBuf>, FnLengthError> {
    const SKIPPED: [&str; 4] = ["target", "tests", "benches", "examples"];
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FnLengthError::Io { path, source }
    };
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if entry.file_type().map_err(io(&path))?.is_dir() {
                if !name.starts_with('.') && !SKIPPED.contains(&name.as_ref()) {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// `path` relative to `root`, with `/` between components whatever the platform.
fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// True for `#[test]` (any path ending in `test`, such as `#[tokio::test]`) and `#[cfg(test)]`.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.segments.last().is_some_and(|s| s.ident == "test") {
            return true;
        }
        match &attr.meta {
            syn::Meta::List(list) if path.is_ident("cfg") => list.tokens.to_string() == "test",
            _ => false,
        }
    })
}

/// The name an impl block gives its methods: its type's last path segment (`Simulation`
/// for `impl<R> crate::Simulation<R>`, also behind references), or `_` for other types.
fn impl_scope(item: &syn::ItemImpl) -> String {
    type_name(&item.self_ty)
}

/// A type's last path segment, looking through references, parentheses and groups.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or_else(|| "_".to_owned(), |s| s.ident.to_string()),
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        syn::Type::Group(g) => type_name(&g.elem),
        _ => "_".to_owned(),
    }
}

/// The visitor that measures every function it meets and remembers where it is.
struct Finder<'a> {
    file: &'a str,
    scope: Vec<String>,
    found: Vec<LongFn>,
}

impl Finder<'_> {
    /// Measures one function from `start` (its signature's first token) to `block`'s closing
    /// brace, and records it when it is over the limit.
    fn measure(&mut self, name: &syn::Ident, start: Span, block: &syn::Block) {
        let first = start.start().line;
        let last = block.brace_token.span.close().end().line;
        let lines = last.saturating_sub(first) + 1;
        if lines > MAX_FN_LINES {
            let mut path = self.scope.clone();
            path.push(name.to_string());
            self.found.push(LongFn {
                file: self.file.to_owned(),
                line: first,
                name: path.join("::"),
                lines,
            });
        }
    }

    /// Runs `inside` with `name` pushed on the scope.
    fn within(&mut self, name: String, inside: impl FnOnce(&mut Self)) {
        self.scope.push(name);
        inside(self);
        self.scope.pop();
    }
}

/// Where a signature starts: its visibility when it has one, else its first token.
fn signature_start(vis: &syn::Visibility, sig: &syn::Signature) -> Span {
    match vis {
        syn::Visibility::Inherited => sig.span(),
        _ => vis.span(),
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_test_only(&item.attrs) {
            self.within(item.ident.to_string(), |f| visit::visit_item_mod(f, item));
        }
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if !is_test_only(&item.attrs) {
            self.within(impl_scope(item), |f| visit::visit_item_impl(f, item));
        }
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if !is_test_only(&item.attrs) {
            self.within(item.ident.to_string(), |f| visit::visit_item_trait(f, item));
        }
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_test_only(&item.attrs) {
            self.measure(
                &item.sig.ident,
                signature_start(&item.vis, &item.sig),
                &item.block,
            );
            self.within(item.sig.ident.to_string(), |f| {
                visit::visit_item_fn(f, item)
            });
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test_only(&item.attrs) {
            self.measure(
                &item.sig.ident,
                signature_start(&item.vis, &item.sig),
                &item.block,
            );
            self.within(item.sig.ident.to_string(), |f| {
                visit::visit_impl_item_fn(f, item);
            });
        }
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if is_test_only(&item.attrs) {
            return;
        }
        if let Some(block) = &item.default {
            self.measure(&item.sig.ident, item.sig.span(), block);
        }
        self.within(item.sig.ident.to_string(), |f| {
            visit::visit_trait_item_fn(f, item);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function `name` of exactly `lines` lines, signature to closing brace.
    fn function(signature: &str, lines: usize) -> String {
        let body: String = (0..lines - 2)
            .map(|i| format!("    let _x{i} = {i};\n"))
            .collect();
        format!("{signature} {{\n{body}}}\n")
    }

    fn names(found: &[LongFn]) -> Vec<(&str, usize, usize)> {
        found
            .iter()
            .map(|l| (l.name.as_str(), l.line, l.lines))
            .collect()
    }

    #[test]
    fn a_function_over_the_limit_is_found_and_one_at_the_limit_is_not() {
        for lines in MAX_FN_LINES - 2..=MAX_FN_LINES + 3 {
            let text = format!("//! Doc.\n\n{}", function("fn f()", lines));
            let found = long_functions_in("src/a.rs", &text).unwrap();
            if lines > MAX_FN_LINES {
                assert_eq!(names(&found), vec![("f", 3, lines)], "{lines} lines");
                assert_eq!(found[0].file, "src/a.rs");
            } else {
                assert!(found.is_empty(), "{lines} lines: {found:?}");
            }
        }
    }

    #[test]
    fn the_length_runs_from_the_visibility_not_the_docs_and_attributes() {
        let long = function("pub(crate) async fn f()", 81);
        let text = format!("/// Docs.\n///\n/// More.\n#[inline]\n#[must_use]\n{long}");
        assert_eq!(
            names(&long_functions_in("a.rs", &text).unwrap()),
            vec![("f", 6, 81)]
        );
        // `function` counts the signature as one line: this one spans three.
        let split = function("pub\n\nfn g()", 81);
        assert_eq!(
            names(&long_functions_in("a.rs", &split).unwrap()),
            vec![("g", 1, 83)]
        );
    }

    #[test]
    fn methods_trait_defaults_and_nested_functions_are_named_by_their_scope() {
        let method = function("    pub fn step(&mut self)", 90);
        let default = function("    fn run(&self)", 85);
        let nested = function("    fn inner()", 81);
        let outer = format!("fn outer() {{\n{nested}}}\n");
        let text = format!(
            "mod engine {{\nimpl<R> crate::Sim<R> {{\n{method}}}\n}}\n\
             impl std::fmt::Debug for &Wrapper {{\n{method}}}\n\
             trait Run {{\n{default}    fn bare(&self);\n}}\n{outer}"
        );
        let found = long_functions_in("a.rs", &text).unwrap();
        let found: Vec<&str> = found.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            found,
            // The outer function counts the nested one's lines too: the whole item.
            vec![
                "engine::Sim::step",
                "Wrapper::step",
                "Run::run",
                "outer",
                "outer::inner"
            ]
        );
    }

    #[test]
    fn test_code_is_skipped() {
        let long = function("fn f()", 100);
        let text = format!(
            "#[cfg(test)]\nmod tests {{\n{long}}}\n\
             #[test]\n{long}\
             #[tokio::test]\n{long}\
             #[cfg(test)]\nimpl A {{\n{long}}}\n\
             #[cfg(not(test))]\n{long}"
        );
        let found = long_functions_in("a.rs", &text).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].name, "f");
    }

    /// A scratch workspace in the temp folder, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("omega-fn-length-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn write(&self, path: &str, text: &str) {
            let path = self.0.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn tests_benches_examples_and_target_are_skipped_and_the_allowlist_is_exact() {
        let scratch = Scratch::new("walk");
        let long = function("fn long()", 81);
        for path in [
            "crate/src/a.rs",
            "crate/src/deep/b.rs",
            "crate/tests/t.rs",
            "crate/benches/b.rs",
            "benches/src/lib.rs",
            "crate/examples/e.rs",
            "target/debug/build/x.rs",
            ".hidden/h.rs",
        ] {
            scratch.write(path, &long);
        }
        let found = long_functions(&scratch.0).unwrap();
        let files: Vec<&str> = found.iter().map(|l| l.file.as_str()).collect();
        assert_eq!(files, vec!["crate/src/a.rs", "crate/src/deep/b.rs"]);

        let allowed = [("crate/src/a.rs", "long"), ("crate/src/gone.rs", "long")];
        let report = check(&scratch.0, &allowed).unwrap();
        assert!(!report.is_clean());
        assert_eq!(names(&report.too_long), vec![("long", 1, 81)]);
        assert_eq!(report.too_long[0].file, "crate/src/deep/b.rs");
        let stale = vec![("crate/src/gone.rs".to_owned(), "long".to_owned())];
        assert_eq!(report.stale_allowances, stale);
        let text = report.to_string();
        assert!(text.contains("crate/src/deep/b.rs:1 `long` is 81 lines (limit 80)"));
        assert!(text.contains("crate/src/gone.rs `long`"), "{text}");

        let allowed = [("crate/src/a.rs", "long"), ("crate/src/deep/b.rs", "long")];
        assert!(check(&scratch.0, &allowed).unwrap().is_clean());
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_naming_its_place() {
        let scratch = Scratch::new("parse");
        scratch.write("src/ok.rs", "fn f() {}\n");
        scratch.write("src/bad.rs", "fn f() {}\n\nfn g( {\n");
        let err = long_functions(&scratch.0).unwrap_err();
        match &err {
            FnLengthError::Parse { path, line, .. } => {
                assert!(path.ends_with("src/bad.rs"), "{err}");
                assert_eq!(*line, 3, "{err}");
            }
            FnLengthError::Io { .. } => panic!("expected a parse error, got {err}"),
        }
        assert!(err.to_string().starts_with("cannot parse "), "{err}");
    }
}
