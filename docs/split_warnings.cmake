# Splits Doxygen's log: warnings about the headers (undocumented public declarations, bad
# parameter docs) go to warnings.log; warnings about the Markdown pages (GitHub-style heading
# anchors that Doxygen 1.9 cannot resolve) go to markdown.log. Prints how many of each.
file(STRINGS "${LOG}" lines)
set(api "")
set(markdown "")
foreach(line IN LISTS lines)
  if(line MATCHES "\\.md:[0-9]+: warning")
    string(APPEND markdown "${line}\n")
  elseif(NOT line STREQUAL "")
    string(APPEND api "${line}\n")
  endif()
endforeach()
get_filename_component(dir "${LOG}" DIRECTORY)
file(WRITE "${dir}/warnings.log" "${api}")
file(WRITE "${dir}/markdown.log" "${markdown}")
string(REGEX MATCHALL "\n" api_lines "${api}")
list(LENGTH api_lines n_api)
message(STATUS "Doxygen: ${n_api} warnings about the headers (${dir}/warnings.log)")
