// A shared object that is not a libactors module: it has no entry point.

extern "C" __attribute__((visibility("default"))) int plain_library_answer() {
  return 42;
}
