//! Criterion benchmarks of the trace loaders on the shared real excerpts
//! (`<repo>/../shared/traces/`): the Google 2011 part read into jobs (target, issue 4: under
//! 2 s in a release build), and the Alibaba GPU and SWF excerpts. Each benchmark is skipped
//! with a printed note when its excerpt is absent.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use omega_workload::trace::{self, TraceFormat, TraceOptions};

fn shared(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/traces")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("note: {} is absent; skipping its benchmark", path.display());
        None
    }
}

fn loaders(c: &mut Criterion) {
    let mut group = c.benchmark_group("traces");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, path, format) in [
        ("google_2011_part0", "google-2011", TraceFormat::Google2011),
        (
            "alibaba_gpu_2023_head1000",
            "alibaba-gpu-2023",
            TraceFormat::AlibabaGpu2023,
        ),
        (
            "swf_nasa_head500",
            "swf/NASA-iPSC-1993-3.1-cln.head500.swf",
            TraceFormat::Swf,
        ),
    ] {
        let Some(path) = shared(path) else { continue };
        let options = TraceOptions::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                let loaded = trace::load(&path, format, &options).expect("the excerpt loads");
                black_box(loaded.jobs.len() + loaded.prefill.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, loaders);
criterion_main!(benches);
