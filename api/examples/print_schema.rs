//! Prints the SDL the server serves: `cargo run --example print_schema > schema.graphql`.
fn main() {
    print!("{}", patchwork::graphql::sdl());
}
