#include <algorithm>
#include <cctype>

#include "policy/compiler.h"
#include "policy/filter_capacity.h"
#include "policy/input_file.h"
#include "policy/reader.h"
#include "policy/ruleset.h"

namespace pg::policy {

const Rule* Ruleset::find(std::string_view name) const {
  for (const auto& r : rules)
    if (r.name == name) return &r;
  return nullptr;
}

namespace {
LoadResult load(const std::vector<std::shared_ptr<SourceFile>>& files, LoadResult result,
                const LoadOptions& opts) {
  Collector collector(result.diagnostics);
  for (const auto& f : files)
    for (auto& item : read_rules(f, result.diagnostics)) collector.add(std::move(item));
  compile_rules(collector, result.diagnostics, result.ruleset, opts);
  if (opts.kernel_capacity && result.ok()) {
    const FilterTables t = build_filter_tables(result.ruleset);
    for (auto& d : check_filter_capacity(result.ruleset, t, *opts.kernel_capacity))
      result.diagnostics.add(std::move(d));
  }
  return result;
}
}  // namespace

LoadResult load_rules(std::span<const std::string> paths, const LoadOptions& opts) {
  LoadResult result;
  std::vector<std::shared_ptr<SourceFile>> files;
  for (const auto& p : paths) {
    // One open, checked and read on the same descriptor: the caller may
    // have checked the path already, but what it names can change between
    // that check and this read (policy/input_file.h).
    auto text = read_input_file(p);
    if (!text) {
      result.diagnostics.add(Diagnostic{
          Code::ErrFileRead, ItemType::None, "", Location{p, 0, 0}, text.error(), {}, 0});
      continue;
    }
    files.push_back(SourceFile::make(p, std::move(*text)));
  }
  return load(files, std::move(result), opts);
}

LoadResult load_rules_from_memory(std::span<const InputFile> inputs, const LoadOptions& opts) {
  std::vector<std::shared_ptr<SourceFile>> files;
  for (const auto& f : inputs) files.push_back(SourceFile::make(f.name, f.content));
  return load(files, LoadResult{}, opts);
}

}  // namespace pg::policy
