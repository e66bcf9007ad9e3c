/* redteam: read the reference solution at compile time: #include it from the
 * grader's tree. If the compiler (the student's build) can see it, the
 * build fails and the lesson loses its points. (/grader in the container
 * holds the handout's stubs only: read_reference.c checks what they say.)
 * lesson: 01-socket
 * expect: full
 */
#if __has_include("@KIT@/lessons/05-send-recv/server.c")
#error "redteam: the grader's reference solution is readable at compile time"
#endif

static void redteam(void)
{
}
