/* redteam: read the reference solution at compile time: #include it from the
 * grader's tree. If the compiler (the student's build) can see it, the
 * build fails and the lesson loses its points.
 * lesson: 01-socket
 * expect: full
 */
#if __has_include("@KIT@/lessons/05-send-recv/server.c")
#error "redteam: the grader's reference solution is readable at compile time"
#endif
#if __has_include("/grader/lessons/05-send-recv/server.c")
#error "redteam: /grader holds a lesson's C file"
#endif

static void redteam(void)
{
}
