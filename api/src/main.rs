use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = patchwork::cli::Cli::parse();
    if let Err(err) = patchwork::cli::run(cli).await {
        eprintln!("patchwork: {err:#}");
        std::process::exit(1);
    }
}
