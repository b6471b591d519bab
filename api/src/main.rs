use clap::Parser;

/// jemalloc: less CPU per request than glibc's malloc under load, with RSS kept bounded by
/// its default decay (docs/performance.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() {
    let cli = patchwork::cli::Cli::parse();
    if let Err(err) = patchwork::cli::run(cli).await {
        eprintln!("patchwork: {err:#}");
        std::process::exit(1);
    }
}
