"""relit: portrait relighting passes for VFX compositors."""
from setuptools import find_packages, setup

setup(
    name="relit",
    version="0.1.0",
    description="Portrait relighting passes (alpha, normals, albedo, diffuse, specular, relit) for compositors",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    package_dir={"": "core", "relit.ocio_configs": "ocio_configs"},
    packages=[*find_packages("core"), "relit.ocio_configs"],
    package_data={"relit": ["weights/*.onnx", "weights/*.json", "weights/*.md", "weights/*.txt"],
                  "relit.ocio_configs": ["*.ocio", "*.md"],
                  "relit.data": ["*.png", "*.jpg", "*.exr", "*.ply", "*.md"]},
    install_requires=[
        "numpy>=1.24",
        "OpenImageIO>=3.0",
        "opencolorio>=2.4",
        "onnxruntime>=1.18",
        "tqdm>=4.60",
        "fileseq>=2.0",
        "scipy>=1.10",
    ],
    extras_require={
        # Mitsuba is the reference path tracer (engine verification, virtual light stage).
        # torch 2.13.0 is pinned: on these machines pip takes it from a local CPU wheel (no CUDA download).
        "train": ["mitsuba>=3.5", "torch==2.13.0", "anny==0.6.2", "pillow"],
        # mypy and the Nuke / Houdini 21.0 API stubs: tests/test_types.py type-checks the adapters (mypy.ini);
        # the stubs are pinned, as they decide which calls exist.
        "test": ["pytest>=7", "onnx>=1.15", "openjd-cli>=0.8", "ruff>=0.5", "pymatting>=1.1",
                 "mypy>=2.4,<3", "types-nuke==13.2.8.0", "types-houdini==21.0.512.3", "pyopencl>=2024.1"],
        # GPU inference: replace onnxruntime by onnxruntime-gpu (see README); relit picks CUDA when present.
        "gpu": ["onnxruntime-gpu>=1.18"],
        # `relit passes --refine-matte`: closed-form matting (pymatting brings numba).
        "matting": ["pymatting>=1.1"],
    },
    entry_points={"console_scripts": ["relit=relit.cli:main"]},
    classifiers=["Programming Language :: Python :: 3", "Topic :: Multimedia :: Graphics"],
)
