# The Cap'n Proto schema of a workerd module bundle (`jsg::Bundle`), which is the
# format of `pyodide_<version>.capnp.bin` files.
#
# Where it comes from: cloudflare/workerd, src/workerd/jsg/modules.capnp, at release
# v1.20260822.1 (commit 6552d999c79ef651b5463c6d692d065a8ce6f859; the file was last
# changed in 7f72d5510, Nov 2024). Same file id, struct names, field names and ordinals,
# so messages built from it are identical on the wire. Left out: the `Cxx.namespace`
# annotation, which affects only C++ code generation and would pull in /capnp/c++.capnp.
# workerd 1.20261117.1 (the binary this repo runs) reads bundles built from it.
#
# Upstream licence: Apache-2.0. On a workerd upgrade, compare with the new release's file
# (see harness/workerd/README.md).

@0xc8cbb234694939d5;

struct Bundle {
  modules @0 :List(Module);
}

struct Module {
  name @0 :Text;
  union {
    src @1 :Data;   # JavaScript module source
    wasm @4 :Data;  # WebAssembly module
    data @5 :Data;  # binary data module
    json @6 :Text;  # JSON module
  }
  tsDeclaration @3 :Text;
  type @2 :ModuleType;
  compileCache @7 :Data;
}

enum ModuleType {
  bundle @0;
  builtin @1;
  internal @2;
}
