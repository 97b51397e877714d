//! Rebuild when a case file or schema is added or changed: they are embedded in the binary
//! (include_dir), and cargo does not otherwise notice new files in those folders.

fn main() {
    println!("cargo:rerun-if-changed=cases");
    println!("cargo:rerun-if-changed=fixtures/schemas");
}
