// relit live relight for the Copernicus HDA relit::passes_cop: the core engine's shading (relit.relight)
// from relit's cached passes, per pixel, in an OpenCL COP (Houdini 20.5 and 21). The same maths as the Nuke
// kernel (nuke_plugin/relit_relight.blink):
// - environment diffuse: the core's exact irradiance lat-long (`relit irradiance`, unrotated) looked up at the
//   normal turned by -rotation, times tint * 2^exposure;
// - environment specular: the cached specular pass (computed at the rotation of the last Compute, exposure 0),
//   times tint * 2^exposure;
// - up to three lights (directional, point, spot), Lambert plus GGX with Schlick Fresnel, unshadowed
//   (shadows are in the cached passes).
// Output C is premultiplied by the matte (the alpha of the passes file's C layer); A is the matte.
// Every #bind parm is named after a component of the HDA's parameter of the same name (relit.dcc's knob
// names; Houdini names a 3-float parameter's components x/y/z and a colour's r/g/b); the OpenCL COP's
// bindings take them with ch("../<name>"). tests/test_houdini_copernicus.py expands the #bind/@ syntax and
// runs this very text with pyopencl against the core engine.
// Assumed, as in COP2 and Nuke: buffer row 0 is the bottom of the image (@iy counts upward).

#bind layer beauty float4
#bind layer normals float3
#bind layer depth float
#bind layer albedo float3
#bind layer roughness? float val=0.45
#bind layer specular_strength? float val=0.028
#bind layer specular float3
#bind layer irradiance float3
#bind layer !&C float4
#bind layer !&A float

#bind parm hfov float val=40
#bind parm irradiance_height int val=128
#bind parm use_hdri int val=1
#bind parm rotation float val=0
#bind parm exposure float val=0
#bind parm tintr float val=1
#bind parm tintg float val=1
#bind parm tintb float val=1
#bind parm light0_type int val=0
#bind parm light0_positionx float val=0
#bind parm light0_positiony float val=0.5
#bind parm light0_positionz float val=0
#bind parm light0_directionx float val=0
#bind parm light0_directiony float val=0
#bind parm light0_directionz float val=1
#bind parm light0_colourr float val=1
#bind parm light0_colourg float val=1
#bind parm light0_colourb float val=1
#bind parm light0_intensity float val=1
#bind parm light0_cone float val=30
#bind parm light0_beam float val=22.5
#bind parm light1_type int val=0
#bind parm light1_positionx float val=0
#bind parm light1_positiony float val=0.5
#bind parm light1_positionz float val=0
#bind parm light1_directionx float val=0
#bind parm light1_directiony float val=0
#bind parm light1_directionz float val=1
#bind parm light1_colourr float val=1
#bind parm light1_colourg float val=1
#bind parm light1_colourb float val=1
#bind parm light1_intensity float val=1
#bind parm light1_cone float val=30
#bind parm light1_beam float val=22.5
#bind parm light2_type int val=0
#bind parm light2_positionx float val=0
#bind parm light2_positiony float val=0.5
#bind parm light2_positionz float val=0
#bind parm light2_directionx float val=0
#bind parm light2_directiony float val=0
#bind parm light2_directionz float val=1
#bind parm light2_colourr float val=1
#bind parm light2_colourg float val=1
#bind parm light2_colourb float val=1
#bind parm light2_intensity float val=1
#bind parm light2_cone float val=30
#bind parm light2_beam float val=22.5

#define RELIT_PI 3.14159265358979f

// Separable Smith masking for GGX (relit.lightmaps.smith_g1)
static float relit_smith_g1(float cos_t, float a)
{
    float c2 = clamp(cos_t * cos_t, 1e-12f, 1.0f);
    return 2.0f / (1.0f + sqrt(1.0f + a * a * (1.0f - c2) / c2));
}

// GGX times n.l per unit irradiance normal to l, Schlick Fresnel from f0 (relit.relight._ggx_specular)
static float relit_ggx(float3 n, float3 v, float3 l, float rough, float f0)
{
    float nl = dot(n, l);
    float nv = dot(n, v);
    if (nl <= 0.0f || nv <= 0.0f)
        return 0.0f;
    float3 h = normalize(v + l);
    float nh = dot(n, h);
    float vh = clamp(dot(v, h), 0.0f, 1.0f);
    float a = fmax(rough, 0.001f);
    float a2 = a * a;
    float c = 1.0f - vh;
    float fresnel = f0 + (1.0f - f0) * (c * c) * (c * c) * c;
    float denom = nh * nh * (a2 - 1.0f) + 1.0f;
    float d = a2 / (RELIT_PI * denom * denom);
    return fresnel * d * relit_smith_g1(nv, a) * relit_smith_g1(nl, a) / (4.0f * fmax(nv, 0.0001f));
}

// (diffuse, specular) of one light per unit colour at point p: irradiance / pi times n.l, and GGX radiance.
// kind: the HDA's menu index (0 none, 1 directional, 2 point, 3 spot: relit.dcc.LIGHT_KINDS).
// direction: directional, toward the light; spot, where it points (relit.relight._incident).
static float2 relit_light(int kind, float3 position, float3 direction, float intensity, float cone, float beam,
                          float3 p, float3 n, float3 v, float rough, float f0)
{
    if (kind <= 0)
        return (float2)(0.0f, 0.0f);
    float3 l = normalize(direction);
    float e = intensity;
    if (kind >= 2)
    {
        float3 delta = position - p;
        float dist = fmax(length(delta), 1e-8f);
        l = delta / dist;
        e = intensity / (dist * dist);
    }
    if (kind == 3)
    {
        float angle = acos(clamp(-dot(l, normalize(direction)), -1.0f, 1.0f)) * 180.0f / RELIT_PI;
        e *= clamp((cone - angle) / (cone - beam), 0.0f, 1.0f);
    }
    return (float2)(e * fmax(dot(n, l), 0.0f) / RELIT_PI, e * relit_ggx(n, v, l, rough, f0));
}

// Where the normal n, turned by -rotation degrees about +Y, falls in a width x height lat-long oriented like
// Mitsuba's envmap (u = atan2(x, -z) / 2pi, v = acos(y) / pi; relit.lightmaps.sample_latlong): the four
// texels of the bilinear footprint (x0, y0, x1, y1, rows counted from the bottom) and the weights toward x1, y1
static int4 relit_latlong_texels(float3 n, float rotation, int width, int height, float2 *weights)
{
    float a = -rotation * RELIT_PI / 180.0f;
    float3 d = (float3)(cos(a) * n.x + sin(a) * n.z, n.y, -sin(a) * n.x + cos(a) * n.z);
    float u = atan2(d.x, -d.z) / (2.0f * RELIT_PI);
    u = u - floor(u);
    float vv = acos(clamp(d.y, -1.0f, 1.0f)) / RELIT_PI;
    float x = u * width - 0.5f;
    float y = clamp(vv * height - 0.5f, 0.0f, (float)(height - 1));
    int x0 = (int)floor(x);
    int y0 = min((int)floor(y), height - 2);
    *weights = (float2)(x - (float)x0, y - (float)y0);
    if (x0 < 0)
        x0 += width;
    int x1 = x0 + 1;
    if (x1 >= width)
        x1 -= width;
    // top-down rows y0, y0 + 1 of the lat-long, as buffer rows counted from the bottom
    return (int4)(x0, height - 1 - y0, x1, height - 2 - y0);
}

@KERNEL
{
    float alpha = @beauty.bufferIndex(@ixy).w;
    if (alpha <= 0.0f)
    {
        @C.set((float4)(0.0f, 0.0f, 0.0f, 0.0f));
        @A.set(0.0f);
        return;
    }
    float3 n = normalize(@normals.bufferIndex(@ixy));
    float rough = @roughness.bufferIndex(@ixy);
    float f0 = @specular_strength.bufferIndex(@ixy);
    float z = @depth.bufferIndex(@ixy);
    // the camera (relit.camera.Camera, perspective): the pixel's point and the unit vector toward the eye
    float nx = ((float)@ix + 0.5f) / (float)@xres * 2.0f - 1.0f;
    float ny = ((float)@iy + 0.5f) / (float)@yres * 2.0f - 1.0f;
    float aspect = (float)@yres / (float)@xres;
    float s = tan(@hfov * RELIT_PI / 360.0f);
    float3 p = (float3)(nx * s * z, ny * s * aspect * z, -z);
    float3 v = normalize((float3)(-nx * s, -ny * s * aspect, 1.0f));

    float3 diffuse = (float3)(0.0f, 0.0f, 0.0f);
    float3 specular = (float3)(0.0f, 0.0f, 0.0f);
    if (@use_hdri != 0)
    {
        float3 scale = (float3)(@tintr, @tintg, @tintb) * exp2(@exposure);
        float2 f;
        int4 t = relit_latlong_texels(n, @rotation, 2 * @irradiance_height, @irradiance_height, &f);
        float3 top = @irradiance.bufferIndex(t.xy) * (1.0f - f.x) + @irradiance.bufferIndex(t.zy) * f.x;
        float3 bottom = @irradiance.bufferIndex(t.xw) * (1.0f - f.x) + @irradiance.bufferIndex(t.zw) * f.x;
        diffuse = (top * (1.0f - f.y) + bottom * f.y) * scale;
        specular = @specular.bufferIndex(@ixy) * scale;
    }
    float2 r0 = relit_light(@light0_type,
                            (float3)(@light0_positionx, @light0_positiony, @light0_positionz),
                            (float3)(@light0_directionx, @light0_directiony, @light0_directionz),
                            @light0_intensity, @light0_cone, @light0_beam, p, n, v, rough, f0);
    float2 r1 = relit_light(@light1_type,
                            (float3)(@light1_positionx, @light1_positiony, @light1_positionz),
                            (float3)(@light1_directionx, @light1_directiony, @light1_directionz),
                            @light1_intensity, @light1_cone, @light1_beam, p, n, v, rough, f0);
    float2 r2 = relit_light(@light2_type,
                            (float3)(@light2_positionx, @light2_positiony, @light2_positionz),
                            (float3)(@light2_directionx, @light2_directiony, @light2_directionz),
                            @light2_intensity, @light2_cone, @light2_beam, p, n, v, rough, f0);
    float3 c0 = (float3)(@light0_colourr, @light0_colourg, @light0_colourb);
    float3 c1 = (float3)(@light1_colourr, @light1_colourg, @light1_colourb);
    float3 c2 = (float3)(@light2_colourr, @light2_colourg, @light2_colourb);
    diffuse += c0 * r0.x + c1 * r1.x + c2 * r2.x;
    specular += c0 * r0.y + c1 * r1.y + c2 * r2.y;
    float3 relit = @albedo.bufferIndex(@ixy) * diffuse + specular;
    @C.set((float4)(relit * alpha, alpha));
    @A.set(alpha);
}
