// Reader: YAML text -> RawItems in file order, with file/line/column for
// every item and key. Version requirements are checked here (per file).
#pragma once

#include <memory>
#include <vector>

#include "policy/diagnostics.h"
#include "policy/items.h"
#include "policy/source_text.h"

namespace pg::policy {

// Reads one file. Problems become diagnostics; items that could not be read
// are left out. A version requirement Peregrine cannot meet stops the file.
std::vector<RawItem> read_rules(const std::shared_ptr<const SourceFile>& file, Diagnostics& diags);

}  // namespace pg::policy
