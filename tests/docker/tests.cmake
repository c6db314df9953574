# Guards for docker/Dockerfile and docker/compose.yaml (no Docker engine runs
# where the tests do). Included by tests/CMakeLists.txt.
#
#   docker_guard          the real files: runtime libraries vs the apt line,
#                         copied paths, user/ports/health check/volume,
#                         `countersign check` on every config they use,
#                         compose structure.
#   docker_guard_rejects  the guard fails, naming the problem, on a broken
#                         fixture and on one-change mutations of the real files.
find_program(COUNTERSIGN_PYTHON3 NAMES python3 REQUIRED)

add_test(NAME docker_guard
         COMMAND ${COUNTERSIGN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/guard.py
                 $<TARGET_FILE:countersign> ${PROJECT_SOURCE_DIR}
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME docker_guard_rejects
         COMMAND ${COUNTERSIGN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/mutations.py
                 $<TARGET_FILE:countersign> ${PROJECT_SOURCE_DIR}
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
# Generous hang guards only: `check` generates a keyset (RSA keys) once.
set_tests_properties(docker_guard docker_guard_rejects PROPERTIES TIMEOUT 900)
