// A shared object that looks like a module of another descriptor layout: it exports the entry point of
// layout 2 (which this libactors does not read) and not that of layout 1.

extern "C" __attribute__((visibility("default"))) const void* actors_module_entry_v2() noexcept {
  return nullptr;
}
