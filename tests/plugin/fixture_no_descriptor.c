/* A shared object that is not an lpz plugin: no descriptor symbol. */
__attribute__((visibility("default"))) int fixture_something(void);
int fixture_something(void)
{
    return 42;
}
