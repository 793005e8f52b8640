//! `bench-hello`: the smallest Rust program, the baseline of the embedding-size
//! measurement in bench/size.sh (what license-client adds to an app's binary).

fn main() {
    println!("hello");
}
